/**
 * Settings of the scaled-out executor: the BullMQ queue the experiment grid goes through, how a
 * dead worker's jobs come back (lock and stalled-job detection) and how failing jobs are retried.
 * None of these are the study's values; each default is chosen for trainings that run for minutes
 * to hours on GPU machines and cites the BullMQ behaviour it configures.
 * @see https://docs.bullmq.io/guide/workers/stalled-jobs
 * @see https://docs.bullmq.io/guide/retrying-failing-jobs
 * @module
 */
import { z } from 'zod';

/** The engine's values this project sets. */
export const QUEUE_DEFAULTS = {
  /** Redis key prefix of every queue key (BullMQ's default is "bull"). */
  prefix: 'spottune',
  /** One queue carries every experiment; job ids are prefixed by the experiment's key. */
  queueName: 'experiment',
  /** Tries per job: a CUDA out-of-memory or a lost NFS mount gets two more chances. */
  attempts: 3,
  /** Exponential backoff base: retries after 30 s, then 60 s. */
  backoffMs: 30_000,
  /**
   * A worker holds each active job's lock for this long and renews it every half of it; the
   * job runs in a child process, so the worker's event loop is always free to renew.
   * A dead worker's job is detected within lockDurationMs + stalledIntervalMs.
   */
  lockDurationMs: 60_000,
  /** How often each worker looks for jobs whose lock expired (their worker died). */
  stalledIntervalMs: 30_000,
  /** Times a job may lose its worker before it is failed (a job that kills its machine stops). */
  maxStalledCount: 2,
  /** Jobs run at once per worker process (each in its own child process). */
  concurrency: 1,
  /**
   * How long the CLI waits for a queue's Redis to accept a TCP connection before it gives up.
   * BullMQ retries a refused connection forever (right for a worker whose Redis restarts, wrong for
   * a command that has never reached it).
   */
  connectTimeoutMs: 5000,
  /** How long `spottune experiment --status` waits for the queue's answer once connected. */
  statusTimeoutMs: 30_000,
} as const;

/** Where the queue lives and how jobs are enqueued and retried. */
export const QueueSchema = z
  .object({
    prefix: z.string().min(1).default(QUEUE_DEFAULTS.prefix).describe('Redis key prefix of the queue'),
    queueName: z
      .string()
      .min(1)
      .regex(/^[^:]+$/, 'no ":" in a queue name')
      .default(QUEUE_DEFAULTS.queueName)
      .describe('BullMQ queue name'),
    attempts: z.number().int().positive().default(QUEUE_DEFAULTS.attempts).describe('Tries per job before it is marked failed'),
    backoffMs: z.number().int().min(0).default(QUEUE_DEFAULTS.backoffMs).describe('Exponential backoff base between tries, in ms'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof QueueSchema>.
import type { QueueOptions } from './options.js';
export type { QueueOptions };
/** {@link QueueOptions} resolved by QueueSchema: every default filled in; what the code downstream receives. */
export type QueueConfig = z.output<typeof QueueSchema>;

/** How a worker takes jobs and how dead workers' jobs are recovered. */
export const WorkerSchema = z
  .object({
    prefix: z.string().min(1).default(QUEUE_DEFAULTS.prefix).describe('Redis key prefix of the queue'),
    queueName: z
      .string()
      .min(1)
      .regex(/^[^:]+$/, 'no ":" in a queue name')
      .default(QUEUE_DEFAULTS.queueName)
      .describe('BullMQ queue name'),
    concurrency: z
      .number()
      .int()
      .positive()
      .default(QUEUE_DEFAULTS.concurrency)
      .describe('Jobs run at once by this worker, each in its own child process'),
    lockDurationMs: z
      .number()
      .int()
      .min(1000)
      .default(QUEUE_DEFAULTS.lockDurationMs)
      .describe('Lock time of an active job, renewed every half of it'),
    stalledIntervalMs: z
      .number()
      .int()
      .min(100)
      .default(QUEUE_DEFAULTS.stalledIntervalMs)
      .describe('Interval of the check for jobs whose worker died'),
    maxStalledCount: z
      .number()
      .int()
      .min(0)
      .default(QUEUE_DEFAULTS.maxStalledCount)
      .describe('Times a job may lose its worker before it is failed'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof WorkerSchema>.
import type { WorkerSettingsOptions } from './options.js';
export type { WorkerSettingsOptions };
/** {@link WorkerSettingsOptions} resolved by WorkerSchema: every default filled in; what the code downstream receives. */
export type WorkerSettings = z.output<typeof WorkerSchema>;
