/**
 * The process one queued job runs in. A worker forks this module per job, so a native crash (a
 * CUDA fault, an abort in LibTorch) ends this process and fails this job, not the worker.
 *
 * Protocol (IPC): the worker sends one {@link ChildRequest}; this process imports the runner
 * module, runs the job, writes its result atomically to `<out>/jobs/<id>.json`, answers one
 * {@link ChildReply} and exits. When the worker dies the IPC channel closes and this process
 * exits at once, so a killed worker leaves no job running behind it.
 * @module
 */
import type { Job } from '../plan.js';
import { recordJobResult } from '../plan.js';
import { loadJobRunner, type RunnerContext } from './runner.js';

/** What the worker asks of a job process. */
export interface ChildRequest {
  type: 'run';
  job: Job;
  context: RunnerContext;
  runner: string;
  attempt: number;
}

/** What a job process answers before it exits. */
export type ChildReply =
  | { type: 'done'; durationMs: number }
  | { type: 'error'; error: { message: string; code?: string; stack?: string } };

function reply(message: ChildReply, exitCode: number): void {
  if (!process.send) process.exit(exitCode);
  process.send(message, () => process.exit(exitCode));
}

async function run(request: ChildRequest): Promise<void> {
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    controller.abort(new Error('the worker is shutting down'));
    setTimeout(() => process.exit(143), 10_000).unref();
  });
  const started = performance.now();
  try {
    const runner = await loadJobRunner(request.runner, request.context, request.attempt);
    const result = await runner(request.job, controller.signal);
    const durationMs = performance.now() - started;
    await recordJobResult(request.context.out, request.job.id, result, durationMs);
    reply({ type: 'done', durationMs }, 0);
  } catch (err) {
    const e: Error & { code?: unknown } = err instanceof Error ? err : new Error(String(err));
    reply({ type: 'error', error: { message: e.message, code: typeof e.code === 'string' ? e.code : undefined, stack: e.stack } }, 1);
  }
}

if (!process.send) {
  console.error('spottune job process: start me with child_process.fork (I read my job over IPC)');
  process.exit(2);
}
// The worker is gone (killed, crashed): stop now rather than run a job nobody waits for.
process.on('disconnect', () => process.exit(1));
process.once('message', (message: ChildRequest) => {
  void run(message);
});
