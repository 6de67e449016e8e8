// Shared pieces of the queue tests: worker processes of the real CLI, the fixture runner, logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executeInProcess } from '../../../lib/experiment/executor.js';
import { jobResultPath, type ExperimentPlan, type JobRecord } from '../../../lib/experiment/plan.js';
import { loadJobRunner } from '../../../lib/experiment/queue/runner.js';

export const FIXTURE_RUNNER = fileURLToPath(new URL('../../fixtures/queue/runner.mjs', import.meta.url));
const CLI = fileURLToPath(new URL('../../../bin/spottune.js', import.meta.url));
const CHILD = fileURLToPath(new URL('../../../dist/lib/experiment/queue/child.js', import.meta.url));

/** Workers run the compiled CLI: fail loudly when dist/ lacks the queue modules. */
export function requireDist(): void {
  if (!existsSync(CHILD)) throw new Error(`${CHILD} is missing: run \`npm run build:ts\` (npm test does it first)`);
}

const temporary: string[] = [];
export function tempDir(prefix = 'spottune-queue-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The fixture runner's configuration: slow trainings, failing and crashing jobs, a log. */
export interface FixtureConfig {
  trainMs?: number;
  otherMs?: number;
  fail?: string[];
  crashOnce?: string[];
  log?: string;
}
export function writeConfig(dir: string, config: FixtureConfig, name = 'config.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export interface LogLine {
  event: 'start' | 'end';
  id: string;
  attempt: number;
  pid: number;
  ppid: number;
}
export function readLog(path: string): LogLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event, id, attempt, pid, ppid] = line.split(' ');
      return { event: event as LogLine['event'], id, attempt: Number(attempt), pid: Number(pid), ppid: Number(ppid) };
    });
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}
const workers: WorkerProcess[] = [];

/**
 * A worker's lock on a job, and how often workers look for jobs whose lock expired. The worker
 * renews its locks every half lock; a lock lost to a busy event loop (a loaded 2-core machine, a
 * child process starting) makes BullMQ run the job a second time, and the tests require each job to
 * end exactly once. 15 s is far beyond any stall seen under load, and still lets the recovery test
 * see a killed worker's jobs come back within lock + interval, about 18 s.
 */
export const LOCK_DURATION_MS = 15_000;
export const STALLED_INTERVAL_MS = 3_000;

/** Starts `spottune worker` on the fixture runner, with the lock and stalled-check times above. */
export function startWorker(queueUrl: string, extra: string[] = []): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'worker',
      '--queue',
      queueUrl,
      '--runner',
      FIXTURE_RUNNER,
      '--concurrency',
      '2',
      '--lock-duration',
      String(LOCK_DURATION_MS),
      '--stalled-interval',
      String(STALLED_INTERVAL_MS),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const worker = { child, output: () => output, exited };
  workers.push(worker);
  return worker;
}

/** Kills every worker a test started that is still running, and waits for them. */
export async function killWorkers(): Promise<void> {
  const all = workers.splice(0);
  for (const w of all) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(all.map((w) => w.exited));
}

/** Stops a worker gracefully (SIGTERM: it finishes its running jobs). */
export async function stopWorker(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGTERM');
  await worker.exited;
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The plan run in this process with the same runner module: what the queue must reproduce. */
export async function runInProcess(plan: ExperimentPlan, config: FixtureConfig) {
  const out = tempDir('spottune-local-');
  const configPath = writeConfig(out, config, 'local-config.json');
  const runner = await loadJobRunner(FIXTURE_RUNNER, { out, configPath });
  const summary = await executeInProcess(plan, runner, { out, concurrency: 2 });
  return { out, summary };
}

/** Every job's result (undefined when it did not finish). */
export function results(plan: ExperimentPlan, out: string): Record<string, unknown> {
  return Object.fromEntries(
    plan.jobs.map((job) => {
      const path = jobResultPath(out, job.id);
      return [job.id, existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as JobRecord & { status: 'done' }).result : undefined];
    }),
  );
}

/** The files under `<out>/jobs` (no temporaries may be left). */
export function jobFiles(out: string): string[] {
  return readdirSync(join(out, 'jobs')).filter((f) => f !== 'failed');
}
