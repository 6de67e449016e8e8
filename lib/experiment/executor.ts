/**
 * The in-process executor: runs a plan's jobs in this process, several at a time, in dependency
 * order. A job runs once all the jobs it needs have settled (done or failed): jobs decide
 * themselves what to do with a failed dependency (an evaluation averages the folds that trained).
 * Finished jobs are skipped, so an interrupted experiment resumes where it stopped.
 * @module
 */
import { EventEmitter } from 'node:events';
import { jobDone, recordJobFailure, recordJobResult, type ExperimentPlan, type Job } from './plan.js';

/** Runs one job and returns its JSON-serialisable result. */
export type JobRunner = (job: Job, signal: AbortSignal) => Promise<unknown>;

/** Events of a run, for progress displays. */
export interface ExecutorEvents {
  jobStart: [{ job: Job; running: number }];
  jobDone: [{ job: Job; durationMs: number; skipped: boolean }];
  jobFailed: [{ job: Job; error: Error; durationMs: number }];
}

/** Options of {@link executeInProcess}. */
export interface ExecuteOptions {
  /** Experiment output directory (job results under `jobs/`). */
  out: string;
  /** Jobs run at once. Default 1. */
  concurrency?: number;
  /**
   * Stops the run: no further job starts, the running jobs see their own signal abort (their
   * failures are not recorded), and {@link executeInProcess} rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Receives each job's start, finish (or skip, for a job done in an earlier run) and failure. */
  events?: EventEmitter<ExecutorEvents>;
}

/** What happened to each job of the plan. */
export interface ExecutionSummary {
  done: string[];
  skipped: string[];
  failed: { id: string; message: string }[];
}

/**
 * Executes `plan` with `run`, `concurrency` jobs at a time.
 * @throws only when aborted; a failing job is recorded and the others go on
 */
export async function executeInProcess(plan: ExperimentPlan, run: JobRunner, options: ExecuteOptions): Promise<ExecutionSummary> {
  const { out, signal, events } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const summary: ExecutionSummary = { done: [], skipped: [], failed: [] };
  const settled = new Set<string>();
  const pending = [...plan.jobs];
  const running = new Map<string, Promise<void>>();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  const start = (job: Job) => {
    const started = performance.now();
    events?.emit('jobStart', { job, running: running.size + 1 });
    const task = run(job, controller.signal)
      .then(async (result) => {
        const durationMs = performance.now() - started;
        await recordJobResult(out, job.id, result, durationMs);
        summary.done.push(job.id);
        events?.emit('jobDone', { job, durationMs, skipped: false });
      })
      .catch(async (err: unknown) => {
        const durationMs = performance.now() - started;
        if (controller.signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        await recordJobFailure(out, job.id, error, durationMs);
        summary.failed.push({ id: job.id, message: error.message });
        events?.emit('jobFailed', { job, error, durationMs });
      })
      .finally(() => {
        running.delete(job.id);
        settled.add(job.id);
      });
    running.set(job.id, task);
  };

  try {
    while (pending.length > 0 || running.size > 0) {
      if (controller.signal.aborted) break;
      for (let i = 0; i < pending.length && running.size < concurrency; ) {
        const job = pending[i];
        if (!job.needs.every((id) => settled.has(id))) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        if (jobDone(out, job.id)) {
          settled.add(job.id);
          summary.skipped.push(job.id);
          events?.emit('jobDone', { job, durationMs: 0, skipped: true });
          continue;
        }
        start(job);
      }
      if (running.size === 0) {
        if (pending.length > 0) throw new Error(`the plan cannot progress: ${pending.map((j) => j.id).join(', ')} wait on missing jobs`);
        break;
      }
      await Promise.race(running.values());
    }
    await Promise.allSettled(running.values());
    if (controller.signal.aborted) throw controller.signal.reason ?? new Error('aborted');
    return summary;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
