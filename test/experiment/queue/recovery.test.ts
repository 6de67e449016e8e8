// What the queue engine must bring back: a worker killed with SIGKILL in the middle of a job, and a
// Redis restart in the middle of the grid. Both end with the full grid done, one result per job.
import { afterEach, describe, expect, test } from 'vitest';
import { planExperiment } from '../../../lib/experiment/plan.js';
import { executeOnQueue } from '../../../lib/experiment/queue/coordinator.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import {
  jobFiles,
  killWorkers,
  readLog,
  removeTempDirs,
  requireDist,
  results,
  runInProcess,
  startWorker,
  tempDir,
  waitFor,
  writeConfig,
} from './helpers.js';

const servers: TestRedis[] = [];
afterEach(async () => {
  await killWorkers();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
  removeTempDirs();
});

const plan = planExperiment({ networks: ['spottune'], modalities: ['T1', 'FLAIR'], folds: 3, radiomics: false });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('recovery', () => {
  test('a worker killed with SIGKILL mid-job: its jobs come back, nothing is lost or run twice to the end', {
    timeout: 180_000,
  }, async () => {
    requireDist();
    const redis = await startRedis();
    servers.push(redis);
    const out = tempDir();
    const log = `${out}/runs.log`;
    const configPath = writeConfig(out, { trainMs: 2000, log });
    // The first worker is ready before the second starts, so it takes jobs.
    const doomed = startWorker(redis.url);
    await waitFor('the first worker', () => doomed.output().includes('worker on'));
    const survivor = startWorker(redis.url);
    const run = executeOnQueue(plan, { queueUrl: redis.url, out, configPath, pollMs: 100 });

    // Kill the first worker once one of its job processes is in the middle of a training.
    await waitFor('a job on the first worker', () => readLog(log).some((r) => r.event === 'start' && r.ppid === doomed.child.pid));
    const victims = readLog(log).filter((r) => r.event === 'start' && r.ppid === doomed.child.pid);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    // its job processes notice that their worker is gone and stop: nothing runs behind the queue's back
    await waitFor('the orphaned job processes to exit', () => victims.every((v) => !alive(v.pid)), 10_000);

    const summary = await run;
    expect(summary.failed).toEqual([]);
    expect(summary.done.toSorted()).toEqual(plan.jobs.map((j) => j.id).toSorted());
    expect(jobFiles(out).toSorted()).toEqual(plan.jobs.map((j) => `${j.id}.json`).toSorted());
    const runs = readLog(log);
    for (const job of plan.jobs)
      expect(
        runs.filter((r) => r.event === 'end' && r.id === job.id),
        job.id,
      ).toHaveLength(1);
    for (const victim of victims) {
      // killed once, then run again by the surviving worker
      expect(runs.filter((r) => r.event === 'end' && r.id === victim.id)[0].ppid).toBe(survivor.child.pid);
    }
    expect(survivor.output()).toMatch(/its worker died; back on the queue/);
    const local = await runInProcess(plan, {});
    expect(results(plan, out)).toEqual(results(plan, local.out));
  });

  test('a Redis restart mid-grid (append-only file) is survived by workers and coordinator', { timeout: 180_000 }, async () => {
    requireDist();
    const redis = await startRedis({ persistent: true });
    servers.push(redis);
    const out = tempDir();
    const log = `${out}/runs.log`;
    const configPath = writeConfig(out, { trainMs: 700, log });
    startWorker(redis.url);
    startWorker(redis.url);
    const run = executeOnQueue(plan, { queueUrl: redis.url, out, configPath, pollMs: 100 });

    const ends = () => readLog(log).filter((r) => r.event === 'end').length;
    await waitFor('two trainings to finish', () => ends() >= 2);
    await redis.stop();
    const endsBefore = ends();
    expect(endsBefore).toBeLessThan(plan.jobs.length);
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();

    const summary = await run;
    expect(summary.failed).toEqual([]);
    expect(jobFiles(out).toSorted()).toEqual(plan.jobs.map((j) => `${j.id}.json`).toSorted());
    const local = await runInProcess(plan, {});
    expect(results(plan, out)).toEqual(results(plan, local.out));
    // the grid went on after the restart
    expect(ends()).toBeGreaterThanOrEqual(plan.jobs.length);
    expect(ends()).toBeGreaterThan(endsBefore);
  });
});
