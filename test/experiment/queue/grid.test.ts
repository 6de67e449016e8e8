// The experiment grid through a real Redis and real worker processes: the same results as the
// in-process executor, exactly one result per job, failures recorded while the grid goes on, a
// crashing job process that does not take its worker down, and idempotent (re-)enqueueing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { planExperiment } from '../../../lib/experiment/plan.js';
import { enqueueExperiment, executeOnQueue, followExperiment, queueStatus } from '../../../lib/experiment/queue/coordinator.js';
import { startQueueWorker } from '../../../lib/experiment/queue/worker.js';
import { redisOptions } from '../../../lib/experiment/queue/connection.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import {
  FIXTURE_RUNNER,
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

let redis: TestRedis;
beforeAll(async () => {
  requireDist();
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.dispose();
});
afterEach(async () => {
  await killWorkers();
  removeTempDirs();
});

const plan = planExperiment({ networks: ['spottune', 'random'], modalities: ['T1', 'FLAIR'], folds: 3, radiomics: true });
const failing = 'train.random.T1.fold1';
const crashing = 'train.spottune.T1.fold0';

describe('the grid on two workers', () => {
  test('finishes with one result per job, equal to the in-process run; failures recorded, crashes retried', {
    timeout: 180_000,
  }, async () => {
    const out = tempDir();
    const log = join(out, 'runs.log');
    const configPath = writeConfig(out, { trainMs: 50, fail: [failing], crashOnce: [crashing], log });
    const target = { queueUrl: redis.url, out, configPath, attempts: 2, backoffMs: 100 };

    // Paused until both workers are ready, so that both take jobs.
    const queue = new Queue('experiment', { connection: redisOptions(redis.url), prefix: 'spottune' });
    await queue.pause();
    // Enqueued twice: the second adds nothing.
    const first = await enqueueExperiment(plan, target);
    const second = await enqueueExperiment(plan, target);
    expect(first.added).toEqual(['report']);
    expect(second.added).toEqual([]);
    const before = await queueStatus({ ...target, plan });
    expect(before.pending.toSorted()).toEqual(plan.jobs.map((j) => j.id).toSorted());

    const workers = [startWorker(redis.url), startWorker(redis.url)];
    await waitFor('both workers', () => workers.every((w) => w.output().includes('worker on')));
    await queue.resume();
    await queue.close();
    const summary = await followExperiment(plan, { ...target, pollMs: 100 });
    const local = await runInProcess(plan, { fail: [failing] });

    expect(summary.failed).toEqual([{ id: failing, message: `${failing} always fails` }]);
    expect(summary.done.toSorted()).toEqual(local.summary.done.toSorted());
    expect(results(plan, out)).toEqual(results(plan, local.out));
    expect(results(plan, out).report).toEqual({ text: expect.stringMatching(/over 5 evaluations$/) });
    // exactly one result file per finished job, no temporaries left behind
    expect(jobFiles(out).toSorted()).toEqual(
      plan.jobs
        .filter((j) => j.id !== failing)
        .map((j) => `${j.id}.json`)
        .toSorted(),
    );

    const runs = readLog(log);
    for (const job of plan.jobs) {
      if (job.id !== failing)
        expect(
          runs.filter((r) => r.event === 'end' && r.id === job.id),
          job.id,
        ).toHaveLength(1);
    }
    // the crashed process took one attempt; its worker lived on and the retry finished the job
    expect(runs.filter((r) => r.event === 'start' && r.id === crashing).map((r) => r.attempt)).toEqual([1, 2]);
    expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
    expect(workers.map((w) => w.output()).join('')).toMatch(/died \(signal SIGKILL\) before finishing/);
    // both workers took jobs
    const workerPids = new Set(runs.map((r) => r.ppid));
    expect(workerPids).toEqual(new Set(workers.map((w) => w.child.pid)));

    const failure = JSON.parse(readFileSync(join(out, 'jobs', 'failed', `${failing}.json`), 'utf8'));
    expect(failure).toMatchObject({
      id: failing,
      status: 'failed',
      error: { message: `${failing} always fails`, code: 'ERR_TEST_FAILURE' },
    });
    expect(runs.filter((r) => r.event === 'start' && r.id === failing)).toHaveLength(2); // attempts: 2

    const status = await queueStatus({ ...target, plan });
    expect(status.pending).toEqual([]);
    expect(status.active).toEqual([]);
    expect(status.done).toHaveLength(plan.jobs.length - 1);
    expect(status.failed).toEqual([{ id: failing, message: `${failing} always fails`, attempts: 2 }]);

    // Resuming after the fix: the finished flow is replaced, only the failed job runs again.
    writeConfig(out, { log });
    const resumed = await executeOnQueue(plan, { ...target, pollMs: 100 });
    expect(resumed.failed).toEqual([]);
    const rerun = readLog(log).slice(runs.length);
    expect(rerun.filter((r) => r.event === 'end').map((r) => r.id)).toEqual([failing]);
    expect(resumed.done).toEqual([failing]);
    expect(resumed.skipped).toHaveLength(plan.jobs.length - 1);
  });
});

describe('enqueueExperiment', () => {
  test('a job needed by two others cannot be a flow: a RangeError before touching Redis', async () => {
    const dag = { jobs: [...plan.jobs, { kind: 'report' as const, id: 'report2', needs: ['analysis'] }] };
    await expect(enqueueExperiment(dag, { queueUrl: redis.url, out: tempDir() })).rejects.toThrow(
      /analysis is needed by both report and report2/,
    );
  });

  test('two experiments share one queue without touching each other', async () => {
    const [a, b] = [tempDir(), tempDir()];
    const small = planExperiment({ networks: ['spottune'], modalities: ['T1'], folds: 2, radiomics: false });
    const ra = await enqueueExperiment(small, { queueUrl: redis.url, out: a });
    const rb = await enqueueExperiment(small, { queueUrl: redis.url, out: b });
    expect(ra.experiment).not.toBe(rb.experiment);
    const queue = new Queue('experiment', { connection: redisOptions(redis.url), prefix: 'spottune' });
    try {
      expect(await queue.getJob(`${ra.experiment}.train.spottune.T1.fold1`)).toBeDefined();
      expect(await queue.getJob(`${rb.experiment}.train.spottune.T1.fold1`)).toBeDefined();
    } finally {
      await queue.close();
    }
    expect((await queueStatus({ queueUrl: redis.url, out: a })).pending).toHaveLength(small.jobs.length);
  });
});

describe('startQueueWorker', () => {
  test('the programmatic worker runs a plan on its own queue and closes', { timeout: 120_000 }, async () => {
    const out = tempDir();
    const small = planExperiment({ networks: ['transfer'], modalities: ['FLAIR'], folds: 2, radiomics: false });
    const lines: string[] = [];
    const worker = await startQueueWorker({
      queueUrl: redis.url,
      queueName: 'api',
      runner: FIXTURE_RUNNER,
      concurrency: 2,
      log: (l) => lines.push(l),
    });
    try {
      const summary = await executeOnQueue(small, { queueUrl: redis.url, queueName: 'api', out, pollMs: 100 });
      expect(summary.done.toSorted()).toEqual(small.jobs.map((j) => j.id).toSorted());
      expect(lines.some((l) => l.includes('report: done'))).toBe(true);
    } finally {
      await worker.close();
    }
    expect(worker.running()).toBe(0);
  });
});
