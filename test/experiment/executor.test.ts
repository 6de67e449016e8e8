import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { executeInProcess } from '../../lib/experiment/executor.js';
import { jobDone, jobResultPath, planExperiment, readJobResult, type Job } from '../../lib/experiment/plan.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const outDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'spottune-exec-'));
  dirs.push(d);
  return d;
};

const plan = planExperiment({ networks: ['spottune', 'random'], modalities: ['T1', 'FLAIR'], folds: 3, radiomics: true });

describe('planExperiment', () => {
  test('networks x modalities x folds trainings, an evaluation per derivative, analysis and report', () => {
    const kinds = plan.jobs.map((j) => j.kind);
    expect(kinds.filter((k) => k === 'train')).toHaveLength(2 * 2 * 3);
    expect(kinds.filter((k) => k === 'evaluate')).toHaveLength(4);
    expect(plan.jobs.at(-1)?.kind).toBe('report');
    const ids = new Set(plan.jobs.map((j) => j.id));
    expect(ids.size).toBe(plan.jobs.length);
    // every dependency comes earlier in the list
    const seen = new Set<string>();
    for (const job of plan.jobs) {
      for (const need of job.needs) expect(seen.has(need)).toBe(true);
      seen.add(job.id);
    }
  });
});

describe('executeInProcess', () => {
  test('runs each job once, after its dependencies, never more than `concurrency` at a time', async () => {
    const out = outDir();
    const finished = new Set<string>();
    let running = 0;
    let peak = 0;
    const summary = await executeInProcess(
      plan,
      async (job: Job) => {
        for (const need of job.needs) expect(finished.has(need)).toBe(true);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
        finished.add(job.id);
        return { id: job.id };
      },
      { out, concurrency: 3 },
    );
    expect(summary.done).toHaveLength(plan.jobs.length);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(await readJobResult(out, 'report')).toEqual({ id: 'report' });
  });

  test('a failing job is recorded with its error and the rest of the grid goes on', async () => {
    const out = outDir();
    const failing = 'train.random.T1.fold1';
    const summary = await executeInProcess(
      plan,
      async (job) => {
        if (job.id === failing) throw Object.assign(new Error('NaN loss at epoch 2, batch 3'), { code: 'ERR_NONFINITE_LOSS' });
        return 1;
      },
      { out },
    );
    expect(summary.failed).toEqual([{ id: failing, message: 'NaN loss at epoch 2, batch 3' }]);
    expect(summary.done).toHaveLength(plan.jobs.length - 1);
    expect(jobDone(out, failing)).toBe(false);
    const record = JSON.parse(readFileSync(join(out, 'jobs', 'failed', `${failing}.json`), 'utf8'));
    expect(record.error.code).toBe('ERR_NONFINITE_LOSS');
  });

  test('a second run skips finished jobs and retries failed ones', async () => {
    const out = outDir();
    let calls = 0;
    await executeInProcess(
      plan,
      async (job) => {
        calls++;
        if (job.id === 'evaluate.spottune.T1') throw new Error('boom');
        return 0;
      },
      { out },
    );
    expect(calls).toBe(plan.jobs.length);
    const rerun: string[] = [];
    const summary = await executeInProcess(
      plan,
      async (job) => {
        rerun.push(job.id);
        return 0;
      },
      { out },
    );
    expect(rerun).toEqual(['evaluate.spottune.T1']);
    expect(summary.skipped).toHaveLength(plan.jobs.length - 1);
    expect(jobDone(out, 'evaluate.spottune.T1')).toBe(true);
    expect(readFileSync(jobResultPath(out, 'report'), 'utf8')).toContain('"status": "done"');
  });

  test('an abort stops scheduling and rejects; nothing is marked done that did not finish', async () => {
    const out = outDir();
    const controller = new AbortController();
    let started = 0;
    const promise = executeInProcess(
      plan,
      async (job, signal) => {
        started++;
        if (started === 2) controller.abort(new Error('stopped by the user'));
        await new Promise((r) => setTimeout(r, 5));
        if (signal.aborted) throw signal.reason;
        return job.id;
      },
      { out, signal: controller.signal },
    );
    await expect(promise).rejects.toThrow('stopped by the user');
    expect(jobDone(out, 'report')).toBe(false);
    expect(started).toBeLessThan(5);
  });
});
