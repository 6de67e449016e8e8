/**
 * Job runner modules: what a worker's child process imports to run one job. The same module
 * gives the in-process executor its {@link JobRunner}, so both modes run the same code.
 *
 * A runner module exports either
 * - `createJobRunner(context)`, returning a {@link JobRunner} (or a Promise of one), or
 * - `runJob(job, context)`, returning the job's JSON-serialisable result.
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobRunner } from '../executor.js';
import type { Job } from '../plan.js';

/** What a runner knows about the experiment it runs jobs of. */
export interface RunnerContext {
  /** Experiment output directory, shared by every worker (results under `jobs/`). */
  out: string;
  /** The experiment's configuration file, when it has one. */
  configPath?: string;
  /** Where tensors live: `cpu`, `cuda`, `cuda:1`. */
  device?: string;
}

/** The context of one run of one job. */
export interface JobContext extends RunnerContext {
  /** 1 on the first try, 2 on the first retry... */
  attempt: number;
  /** Aborted when the worker shuts down or dies. */
  signal: AbortSignal;
}

/** The shape of a runner module. */
export interface RunnerModule {
  createJobRunner?: (context: RunnerContext) => JobRunner | Promise<JobRunner>;
  runJob?: (job: Job, context: JobContext) => Promise<unknown>;
}

/**
 * The experiment's own runner module, which trains the networks. It lives beside the plan in
 * lib/experiment; a worker without `--runner` uses it.
 */
export const DEFAULT_RUNNER_MODULE = new URL('../jobs.js', import.meta.url).href;

/**
 * A module specifier as an import()-able URL: URLs stay, an existing file (relative to the working
 * directory or absolute) becomes its file URL, anything else is a package name.
 */
export function runnerModuleUrl(specifier: string): string {
  if (/^(file|data|node):/.test(specifier)) return specifier;
  if (specifier.startsWith('.') || isAbsolute(specifier) || existsSync(specifier)) return pathToFileURL(resolve(specifier)).href;
  return specifier;
}

/**
 * Imports a runner module and builds a {@link JobRunner} from it.
 * @param attempt passed to `runJob` (a child process runs one job and knows its attempt)
 * @throws Error naming the module when it cannot be imported or exports neither function
 */
export async function loadJobRunner(specifier: string, context: RunnerContext, attempt = 1): Promise<JobRunner> {
  const url = runnerModuleUrl(specifier);
  let mod: RunnerModule & { default?: RunnerModule };
  try {
    mod = (await import(url)) as RunnerModule & { default?: RunnerModule };
  } catch (err) {
    const e = err as Error & { code?: string };
    const hint = url === DEFAULT_RUNNER_MODULE ? ' (the experiment job runner is not built; pass --runner MODULE)' : '';
    throw Object.assign(new Error(`Cannot load the job runner module ${specifier}${hint}: ${e.message}`), {
      code: 'ERR_JOB_RUNNER',
      cause: err,
    });
  }
  const api: RunnerModule = mod.createJobRunner || mod.runJob ? mod : (mod.default ?? {});
  if (typeof api.createJobRunner === 'function') return await api.createJobRunner(context);
  if (typeof api.runJob === 'function') {
    const runJob = api.runJob;
    return (job, signal) => runJob(job, { ...context, attempt, signal });
  }
  throw Object.assign(new Error(`The job runner module ${specifier} exports neither createJobRunner(context) nor runJob(job, context)`), {
    code: 'ERR_JOB_RUNNER',
  });
}
