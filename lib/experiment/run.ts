/**
 * One call that runs an experiment end to end: set up (cohort, cache, splits), then every job of
 * the plan, in this process or on a BullMQ queue, resuming whatever an earlier run finished.
 * @module
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { executeInProcess, type ExecutionSummary, type ExecutorEvents } from './executor.js';
import { createJobRunner } from './jobs.js';
import { executeOnQueue } from './queue/coordinator.js';
import { planOf, setupExperiment, type SetupOptions } from './setup.js';

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions extends SetupOptions {
  /** Jobs run at once in this process (ignored with `queueUrl`: workers decide). Default 1. */
  concurrency?: number;
  /** Device of the in-process trainings; default the config's `network.device`. */
  device?: string;
  /** `redis://HOST:PORT`: enqueue the plan for `spottune worker`s instead of running it here. */
  queueUrl?: string;
  /** Receives each job's start, finish (or skip) and failure, in this process or from the queue. */
  events?: EventEmitter<ExecutorEvents>;
}

/** What {@link runExperiment} did. */
export interface ExperimentRun {
  out: string;
  summary: ExecutionSummary;
  /** report.html when the report job finished. */
  reportPath: string | null;
  jobs: number;
}

/**
 * Sets up and runs the experiment in `options.out`. Jobs that finished in an earlier run are
 * skipped; a failing training is recorded and the grid goes on.
 * @throws what {@link setupExperiment} throws, before any training; an AbortError on abort
 */
export async function runExperiment(options: RunExperimentOptions): Promise<ExperimentRun> {
  const out = resolve(options.out);
  const { file } = await setupExperiment({ ...options, out });
  const plan = planOf(file.config);
  const summary = options.queueUrl
    ? await executeOnQueue(plan, { queueUrl: options.queueUrl, out, events: options.events, signal: options.signal })
    : await executeInProcess(plan, await createJobRunner({ out, device: options.device }), {
        out,
        concurrency: options.concurrency,
        signal: options.signal,
        events: options.events,
      });
  const report = join(out, 'report', 'report.html');
  return { out, summary, reportPath: existsSync(report) ? report : null, jobs: plan.jobs.length };
}
