/**
 * What travels through the queue: a BullMQ job's data is the plan's own {@link Job} object plus
 * where the experiment lives; its id is derived from the plan's id, so enqueueing the same plan
 * twice adds nothing.
 * @module
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Job } from '../plan.js';

/** A queued job's data. */
export interface QueueJobData {
  /** The plan's job, unchanged: the runner receives exactly what the in-process executor passes. */
  job: Job;
  /** Experiment output directory, the same path on every worker (a shared file system). */
  out: string;
  /** The experiment's configuration file. */
  configPath?: string;
  /** The experiment's key: the prefix of its job ids. */
  experiment: string;
}

/** What a queued job returns to BullMQ (the result itself stays in `<out>/jobs/<id>.json`). */
export interface QueueJobReturn {
  /** The result file already existed: the job completed without running. */
  skipped: boolean;
  durationMs: number;
}

const KEY = /^[A-Za-z0-9_-]+$/;

/**
 * The key of an experiment in a shared queue: the name given, or a hash of the output
 * directory's absolute path (so every command run against the same `--out` finds the same jobs).
 * @throws RangeError for a name with characters other than letters, digits, `_` and `-`
 */
export function experimentKey(out: string, name?: string): string {
  if (name !== undefined) {
    if (!KEY.test(name)) throw new RangeError(`Expected letters, digits, "_" or "-" in the experiment name but received "${name}"`);
    return name;
  }
  return `x${createHash('sha256').update(resolve(out)).digest('hex').slice(0, 12)}`;
}

/** The BullMQ job id of a plan job (BullMQ forbids ":" in custom ids; plan ids have none). */
export function queueJobId(experiment: string, jobId: string): string {
  if (jobId.includes(':')) throw new RangeError(`A queued job id cannot contain ":" but the plan has "${jobId}"`);
  return `${experiment}.${jobId}`;
}

/** The plan id of a BullMQ job id of `experiment`, or undefined for another experiment's job. */
export function planJobId(experiment: string, queueId: string): string | undefined {
  return queueId.startsWith(`${experiment}.`) ? queueId.slice(experiment.length + 1) : undefined;
}
