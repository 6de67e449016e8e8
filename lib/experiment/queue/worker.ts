/**
 * The worker side of the scaled-out executor: a BullMQ Worker that runs each job in its own
 * child process (lib/experiment/queue/child.ts), `concurrency` at a time. Failure handling is the
 * engine's: the worker renews each active job's lock; when a worker dies its jobs' locks expire
 * and another worker's stalled-job check puts them back on the queue; a failing job is retried
 * with exponential backoff and, once its attempts are spent, failed with its error (recorded in
 * `<out>/jobs/failed/`) while the rest of the grid goes on.
 *
 * Delivery is at least once, so every job is idempotent: a job whose result file exists completes
 * at once without running; a retried training resumes from its last epoch checkpoint (the runner
 * does this, given the same job).
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Job as BullJob, Worker } from 'bullmq';
import { WorkerSchema, type WorkerSettingsOptions } from '../../config/queue.js';
import { jobDone, recordJobFailure } from '../plan.js';
import type { ChildReply, ChildRequest } from './child.js';
import { redactUrl, redisOptions } from './connection.js';
import type { QueueJobData, QueueJobReturn } from './protocol.js';
import { DEFAULT_RUNNER_MODULE, runnerModuleUrl } from './runner.js';

/** Options of {@link startQueueWorker}: the queue's address and the worker's settings. */
export interface QueueWorkerOptions extends WorkerSettingsOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. */
  queueUrl: string;
  /** Device the jobs' runners use (`cpu`, `cuda`, `cuda:1`), passed as SPOTTUNE_DEVICE and in the context. */
  device?: string;
  /** Runner module (path or URL) exporting `createJobRunner` or `runJob`; the experiment's by default. */
  runner?: string;
  /** Where progress lines go (default: nowhere). */
  log?: (line: string) => void;
}

/** A running worker. */
export interface QueueWorker {
  readonly worker: Worker<QueueJobData, QueueJobReturn>;
  /** Job processes running now. */
  running(): number;
  /**
   * Stops taking jobs. Graceful (default): waits for the running jobs. `force`: kills their
   * processes; their jobs stay active until their locks expire and the stalled-job check of
   * another worker puts them back on the queue.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

/** The child entry: compiled beside this module, or in dist/ when this runs from source. */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return here.replace(/([\\/])lib([\\/]experiment[\\/]queue[\\/])worker\.ts$/, '$1dist$1lib$2child.js');
  return fileURLToPath(new URL('./child.js', import.meta.url));
}

/**
 * Starts a worker on the experiment queue at `options.queueUrl`.
 * @throws RangeError/TypeError for bad options (URL, concurrency, timings)
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const settings = WorkerSchema.parse({
    prefix: options.prefix,
    queueName: options.queueName,
    concurrency: options.concurrency,
    lockDurationMs: options.lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
  });
  const connection = redisOptions(options.queueUrl);
  const log = options.log ?? (() => undefined);
  // Resolved here, in the worker's working directory, once for every job process.
  const runner = options.runner === undefined ? DEFAULT_RUNNER_MODULE : runnerModuleUrl(options.runner);
  const entry = childEntry();
  const children = new Set<ChildProcess>();
  let killing = false;

  const runInChild = (bullJob: BullJob<QueueJobData, QueueJobReturn>): Promise<number> =>
    new Promise((resolve, reject) => {
      const { job, out, configPath } = bullJob.data;
      const request: ChildRequest = {
        type: 'run',
        job,
        context: { out, configPath, device: options.device },
        runner,
        attempt: bullJob.attemptsMade + 1,
      };
      const env = { ...process.env, ...(options.device ? { SPOTTUNE_DEVICE: options.device } : {}) };
      const child = fork(entry, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(child);
      let reply: ChildReply | undefined;
      child.on('message', (message: ChildReply) => {
        reply = message;
      });
      child.once('error', (err) => {
        children.delete(child);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        children.delete(child);
        // Killed by a forced close: neither success nor failure; the stalled-job check requeues it.
        if (killing) return;
        if (reply?.type === 'done' && code === 0) return resolve(reply.durationMs);
        if (reply?.type === 'error') {
          const err = Object.assign(new Error(reply.error.message), { code: reply.error.code });
          if (reply.error.stack) err.stack = reply.error.stack;
          return reject(err);
        }
        reject(
          Object.assign(
            new Error(`the process of job ${job.id} died (${signal ? `signal ${signal}` : `exit code ${code}`}) before finishing`),
            { code: 'ERR_JOB_PROCESS' },
          ),
        );
      });
      child.send(request);
    });

  // bullmq loads here, when a worker starts, so that importing the queue door stays light.
  const { Worker } = await import('bullmq');
  const worker = new Worker<QueueJobData, QueueJobReturn>(
    settings.queueName,
    async (bullJob) => {
      const { job, out } = bullJob.data;
      if (!existsSync(out)) {
        throw new Error(
          `the experiment directory ${out} does not exist on this machine: mount the shared file system at the same path as on the coordinator`,
        );
      }
      if (jobDone(out, job.id)) {
        log(`${job.id}: already done`);
        return { skipped: true, durationMs: 0 };
      }
      log(`${job.id}: started (attempt ${bullJob.attemptsMade + 1}${options.device ? ` on ${options.device}` : ''})`);
      const durationMs = await runInChild(bullJob);
      if (!jobDone(out, job.id)) throw new Error(`job ${job.id} ended without writing its result to ${out}`);
      log(`${job.id}: done in ${(durationMs / 1000).toFixed(1)} s`);
      return { skipped: false, durationMs };
    },
    {
      connection,
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: settings.maxStalledCount,
      autorun: false,
    },
  );

  // Final failures go beside the results, as the in-process executor records them.
  const recordIfFailed = async (bullJob: BullJob<QueueJobData, QueueJobReturn>, err: Error) => {
    if ((await bullJob.getState()) !== 'failed') {
      log(`${bullJob.data.job.id}: failed (${err.message}); it will be retried`);
      return;
    }
    log(`${bullJob.data.job.id}: failed after ${bullJob.attemptsMade} attempt(s): ${err.message}`);
    await recordJobFailure(bullJob.data.out, bullJob.data.job.id, err, Math.max(0, (bullJob.finishedOn ?? 0) - (bullJob.processedOn ?? 0)));
  };
  worker.on('failed', (bullJob, err) => {
    if (bullJob) void recordIfFailed(bullJob, err).catch((e: Error) => log(`could not record a failure: ${e.message}`));
  });
  worker.on('stalled', (jobId) => log(`${jobId}: its worker died; back on the queue`));
  worker.on('error', (err) => log(`queue error: ${err.message}`));

  await worker.waitUntilReady();
  void worker.run().catch((err: Error) => log(`worker stopped: ${err.message}`));
  log(
    `worker on ${redactUrl(options.queueUrl)} queue ${settings.queueName}: ${settings.concurrency} job(s) at a time${options.device ? ` on ${options.device}` : ''}`,
  );

  return {
    worker,
    running: () => children.size,
    async close({ force = false } = {}) {
      if (force) {
        killing = true;
        for (const child of children) child.kill('SIGKILL');
      }
      await worker.close(force);
    },
  };
}
