/**
 * The coordinator side of the scaled-out executor: puts a plan on a BullMQ queue as a flow
 * (children before parents, mirroring the plan's `needs`), follows it, and reports its status.
 * Workers (`spottune worker`) run the jobs; results land in the shared output directory exactly
 * as the in-process executor writes them.
 * @module
 */
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlowJob } from 'bullmq';
import { QueueSchema, type QueueOptions } from '../../config/queue.js';
import type { ExecutionSummary, ExecutorEvents } from '../executor.js';
import { jobDone, recordJobFailure, type ExperimentPlan, type Job, type JobRecord } from '../plan.js';
import { makeDirectory } from '../../util/atomic.js';
import { redisOptions } from './connection.js';
import { experimentKey, planJobId, queueJobId, type QueueJobData, type QueueJobReturn } from './protocol.js';

// bullmq (with ioredis and msgpackr's native extension) loads when a queue is first opened, not
// when this module loads: the in-process executor and the package's root import this module
// through lib/experiment/run.ts and never touch a queue.
const bullmq = () => import('bullmq');

/** Where an experiment's queue is and how its jobs are retried. */
export interface QueueTarget extends QueueOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. */
  queueUrl: string;
  /** Experiment output directory, shared by the workers. */
  out: string;
  /** Names the experiment in the queue; by default a hash of `out`'s absolute path. */
  experiment?: string;
}

/** What {@link enqueueExperiment} needs besides the plan. */
export interface EnqueueOptions extends QueueTarget {
  /** The experiment's configuration file, handed to every job's runner. */
  configPath?: string;
}

/** What {@link enqueueExperiment} did. */
export interface EnqueueResult {
  experiment: string;
  /** Plan ids of the flows' roots (the report). */
  roots: string[];
  /** Roots whose flow was added now (the others were already queued or finished). */
  added: string[];
  /** Jobs whose result file existed before: their queued job completes without running. */
  alreadyDone: string[];
}

const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed']);

/** The plan as a forest: each job under the one job that needs it. */
function planForest(plan: ExperimentPlan): { roots: Job[]; children: Map<string, Job[]> } {
  const byId = new Map(plan.jobs.map((j) => [j.id, j]));
  const parent = new Map<string, string>();
  const children = new Map<string, Job[]>();
  for (const job of plan.jobs) {
    for (const need of job.needs) {
      const child = byId.get(need);
      if (!child) throw new RangeError(`Job ${job.id} needs ${need}, which is not in the plan`);
      const other = parent.get(need);
      if (other !== undefined) {
        throw new RangeError(`Job ${need} is needed by both ${other} and ${job.id}: a BullMQ flow gives each job one parent`);
      }
      parent.set(need, job.id);
      children.set(job.id, [...(children.get(job.id) ?? []), child]);
    }
  }
  return { roots: plan.jobs.filter((j) => !parent.has(j.id)), children };
}

function flowOf(plan: ExperimentPlan, options: EnqueueOptions, experiment: string) {
  const config = QueueSchema.parse({
    prefix: options.prefix,
    queueName: options.queueName,
    attempts: options.attempts,
    backoffMs: options.backoffMs,
  });
  const { roots, children } = planForest(plan);
  const toFlow = (job: Job, hasParent: boolean): FlowJob => {
    const data: QueueJobData = { job, out: options.out, configPath: options.configPath, experiment };
    const kids = children.get(job.id) ?? [];
    return {
      name: job.kind,
      queueName: config.queueName,
      prefix: config.prefix,
      data,
      opts: {
        jobId: queueJobId(experiment, job.id),
        attempts: config.attempts,
        backoff: { type: 'exponential', delay: config.backoffMs },
        // A child that keeps failing is recorded and the parent still runs once the others end,
        // with whatever finished, as in the in-process executor.
        ...(hasParent ? { ignoreDependencyOnFailure: true } : {}),
        removeOnComplete: false,
        removeOnFail: false,
      },
      ...(kids.length > 0 ? { children: kids.map((k) => toFlow(k, true)) } : {}),
    };
  };
  const treeIds = (job: Job): string[] => [job.id, ...(children.get(job.id) ?? []).flatMap(treeIds)];
  return { config, roots, flows: roots.map((r) => ({ root: r, flow: toFlow(r, false), ids: treeIds(r) })) };
}

/**
 * Puts `plan` on the queue as a BullMQ flow: one job per plan job, each under the job that needs
 * it, with the plan's Job object as data. Idempotent: a flow that is queued or running is left
 * alone; a finished flow whose jobs did not all succeed is replaced, so its failed jobs run again
 * (finished jobs complete at once from their result files).
 * @throws RangeError when the plan is not a forest (a job needed by two others) or the URL is bad
 */
export async function enqueueExperiment(plan: ExperimentPlan, options: EnqueueOptions): Promise<EnqueueResult> {
  const experiment = experimentKey(options.out, options.experiment);
  const { config, flows } = flowOf(plan, options, experiment);
  const connection = redisOptions(options.queueUrl);
  // Workers refuse jobs whose directory they cannot see (a file system not mounted there).
  await makeDirectory(options.out);
  const { FlowProducer, Queue } = await bullmq();
  const queue = new Queue(config.queueName, { connection, prefix: config.prefix });
  const producer = new FlowProducer({ connection, prefix: config.prefix });
  const result: EnqueueResult = {
    experiment,
    roots: flows.map((f) => f.root.id),
    added: [],
    alreadyDone: plan.jobs.filter((j) => jobDone(options.out, j.id)).map((j) => j.id),
  };
  try {
    for (const { root, flow, ids } of flows) {
      const state = await queue.getJobState(queueJobId(experiment, root.id));
      if (state !== 'unknown' && !FINISHED.has(state)) continue; // queued or running
      if (state !== 'unknown' && ids.every((id) => jobDone(options.out, id))) continue; // all done
      // A finished flow with failures, or stray jobs of a removed one: clear, then add afresh.
      await queue.remove(queueJobId(experiment, root.id), { removeChildren: true }).catch(() => 0);
      for (const id of ids) await queue.remove(queueJobId(experiment, id)).catch(() => 0);
      await producer.add(flow);
      result.added.push(root.id);
    }
    return result;
  } finally {
    await Promise.allSettled([producer.close(), queue.close()]);
  }
}

/** How {@link followExperiment} follows a queued plan. */
export interface FollowOptions extends QueueTarget {
  /** Receives the same job events as the in-process executor's (`jobStart`, `jobDone`, `jobFailed`). */
  events?: EventEmitter<ExecutorEvents>;
  /** Stops following (the queued jobs go on; the promise rejects). */
  signal?: AbortSignal;
  /** How often the flow's roots are checked, besides the queue's events. */
  pollMs?: number;
  /** Jobs done before the flow was enqueued (reported as skipped). */
  alreadyDone?: readonly string[];
}

/**
 * Follows a queued plan until every flow root (the report) has finished: emits the executor's
 * events as workers start, finish and fail jobs, records final failures in `jobs/failed/`, and
 * resolves with the same summary as the in-process executor.
 * @throws when `signal` aborts (the queued jobs go on)
 */
export async function followExperiment(plan: ExperimentPlan, options: FollowOptions): Promise<ExecutionSummary> {
  const experiment = experimentKey(options.out, options.experiment);
  const config = QueueSchema.parse({
    prefix: options.prefix,
    queueName: options.queueName,
    attempts: options.attempts,
    backoffMs: options.backoffMs,
  });
  const { roots } = planForest(plan);
  const byId = new Map(plan.jobs.map((j) => [j.id, j]));
  const connection = redisOptions(options.queueUrl);
  const { Queue, QueueEvents } = await bullmq();
  const queue = new Queue<QueueJobData, QueueJobReturn>(config.queueName, { connection, prefix: config.prefix });
  const queueEvents = new QueueEvents(config.queueName, { connection, prefix: config.prefix });
  const { events, signal, out } = options;
  const active = new Set<string>();
  const reported = new Set<string>();
  const jobOf = (queueId: string) => {
    const id = planJobId(experiment, queueId);
    return id === undefined ? undefined : byId.get(id);
  };
  /** The job's final failure, or undefined when it has not failed (yet). */
  const failureOf = async (job: Job) => {
    const bullJob = await queue.getJob(queueJobId(experiment, job.id));
    if (!bullJob || (await bullJob.getState()) !== 'failed') return undefined;
    const error = Object.assign(new Error(bullJob.failedReason || 'failed'), { stack: bullJob.stacktrace?.at(-1) });
    return { error, finishedOn: bullJob.finishedOn ?? 0, durationMs: Math.max(0, (bullJob.finishedOn ?? 0) - (bullJob.processedOn ?? 0)) };
  };
  const reportFailure = async (job: Job) => {
    const failure = await failureOf(job);
    if (!failure || reported.has(job.id)) return;
    reported.add(job.id);
    events?.emit('jobFailed', { job, error: failure.error, durationMs: failure.durationMs });
  };

  queueEvents.on('active', ({ jobId }) => {
    const job = jobOf(jobId);
    if (!job) return;
    active.add(job.id);
    events?.emit('jobStart', { job, running: active.size });
  });
  queueEvents.on('completed', ({ jobId, returnvalue }) => {
    const job = jobOf(jobId);
    if (!job || reported.has(job.id)) return;
    active.delete(job.id);
    reported.add(job.id);
    const value = (typeof returnvalue === 'string' ? safeJson(returnvalue) : returnvalue) as Partial<QueueJobReturn> | undefined;
    events?.emit('jobDone', { job, durationMs: value?.durationMs ?? 0, skipped: value?.skipped ?? false });
  });
  queueEvents.on('failed', ({ jobId }) => {
    const job = jobOf(jobId);
    if (!job) return;
    active.delete(job.id);
    void reportFailure(job).catch(() => undefined);
  });
  queueEvents.on('error', () => undefined); // reconnects by itself (a Redis restart)

  try {
    await queueEvents.waitUntilReady();
    const pollMs = options.pollMs ?? 1000;
    for (;;) {
      signal?.throwIfAborted();
      // A command that fails (Redis restarting) counts as "not finished yet".
      const states = await Promise.all(roots.map((r) => queue.getJobState(queueJobId(experiment, r.id)).catch(() => 'retry' as const)));
      if (states.every((s) => FINISHED.has(s))) break;
      const missing = roots.filter((_, i) => states[i] === 'unknown').map((r) => r.id);
      if (missing.length > 0) {
        throw new Error(
          `the queue has no job ${missing.join(', ')} of experiment ${experiment}: enqueue it first, or Redis lost its data (run it with persistence)`,
        );
      }
      await sleep(pollMs, signal);
    }
    const summary: ExecutionSummary = { done: [], skipped: [], failed: [] };
    const before = new Set(options.alreadyDone ?? []);
    for (const job of plan.jobs) {
      if (jobDone(out, job.id)) {
        (before.has(job.id) ? summary.skipped : summary.done).push(job.id);
        continue;
      }
      const failure = await failureOf(job);
      if (failure) {
        await reportFailure(job);
        // The worker records a failure with its error's code; this covers the jobs that the
        // stalled-job check failed (their worker died too often), which no worker reports.
        const recorded = await failedRecord(out, job.id);
        if (!recorded || Date.parse(recorded.finishedAt) < failure.finishedOn)
          await recordJobFailure(out, job.id, failure.error, failure.durationMs);
      }
      summary.failed.push({ id: job.id, message: failure?.error.message ?? (await failedMessage(out, job.id)) ?? 'did not finish' });
    }
    return summary;
  } finally {
    await Promise.allSettled([queueEvents.close(), queue.close()]);
  }
}

/**
 * Runs `plan` on the queue: enqueues it (idempotently) and follows it to the end. The queue's
 * twin of `executeInProcess`, with the same events and summary.
 */
export async function executeOnQueue(plan: ExperimentPlan, options: EnqueueOptions & FollowOptions): Promise<ExecutionSummary> {
  const { alreadyDone } = await enqueueExperiment(plan, options);
  return followExperiment(plan, { ...options, alreadyDone });
}

/** One experiment's jobs on the queue, by state. */
export interface QueueStatus {
  experiment: string;
  /** Waiting for a worker, for their children, or for a retry's backoff. */
  pending: string[];
  active: string[];
  done: string[];
  failed: { id: string; message: string; attempts: number }[];
  /** Jobs whose result file exists but that the queue does not list (finished earlier). */
  doneOnDisk: string[];
}

const PENDING_STATES = ['waiting', 'waiting-children', 'delayed', 'prioritized', 'paused'] as const;

/**
 * The state of an experiment's jobs on the queue: pending, active, done and failed, by plan id.
 * With a plan, jobs done on disk that the queue does not list are reported too.
 */
export async function queueStatus(options: QueueTarget & { plan?: ExperimentPlan }): Promise<QueueStatus> {
  const experiment = experimentKey(options.out, options.experiment);
  const config = QueueSchema.parse({ prefix: options.prefix, queueName: options.queueName });
  const connection = redisOptions(options.queueUrl);
  const { Queue } = await bullmq();
  const queue = new Queue<QueueJobData, QueueJobReturn>(config.queueName, { connection, prefix: config.prefix });
  const status: QueueStatus = { experiment, pending: [], active: [], done: [], failed: [], doneOnDisk: [] };
  try {
    const listed = new Set<string>();
    const take = async (types: readonly string[], each: (id: string, job: Awaited<ReturnType<typeof queue.getJob>>) => void) => {
      const jobs = await queue.getJobs(types as never, 0, -1, true);
      for (const job of jobs) {
        const id = job?.id === undefined ? undefined : planJobId(experiment, job.id);
        if (id === undefined || listed.has(id)) continue;
        listed.add(id);
        each(id, job as Awaited<ReturnType<typeof queue.getJob>>);
      }
    };
    await take(['active'], (id) => status.active.push(id));
    await take(['completed'], (id) => status.done.push(id));
    await take(['failed'], (id, job) => status.failed.push({ id, message: job?.failedReason ?? '', attempts: job?.attemptsMade ?? 0 }));
    await take(PENDING_STATES, (id) => status.pending.push(id));
    for (const job of options.plan?.jobs ?? []) {
      if (!listed.has(job.id) && jobDone(options.out, job.id)) status.doneOnDisk.push(job.id);
    }
    return status;
  } finally {
    await queue.close();
  }
}

/** A {@link QueueStatus} as text for a terminal: counts, then the active and failed jobs. */
export function formatQueueStatus(status: QueueStatus): string {
  const lines = [
    `experiment ${status.experiment}: ${status.pending.length} pending, ${status.active.length} active, ${status.done.length + status.doneOnDisk.length} done, ${status.failed.length} failed`,
  ];
  for (const id of status.active) lines.push(`  active  ${id}`);
  for (const f of status.failed) lines.push(`  failed  ${f.id} after ${f.attempts} attempt(s): ${f.message}`);
  return lines.join('\n');
}

async function failedRecord(out: string, id: string): Promise<JobRecord | undefined> {
  const path = join(out, 'jobs', 'failed', `${id}.json`);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as JobRecord;
  } catch {
    return undefined;
  }
}

async function failedMessage(out: string, id: string): Promise<string | undefined> {
  const record = await failedRecord(out, id);
  return record?.status === 'failed' ? record.error.message : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
