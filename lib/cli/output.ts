/**
 * What the commands share for output: one `--json` convention (the result as one JSON document
 * on stdout; progress and logs on stderr), the check that an output folder can be created, and
 * a bounded probe of a queue's Redis before anything waits on it.
 * @module
 */
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { QUEUE_DEFAULTS } from '../config/queue.js';
import { makeDirectory } from '../util/atomic.js';
import { CliError } from './errors.js';

/** The `--json` flag every command that produces a result takes. */
export const JSON_FLAG = [
  '--json',
  'print the result as one JSON object on stdout (progress and logs stay on stderr; errors become {"error": {code, message}})',
] as const;

/**
 * Prints a command's result: `value` as JSON with `json`, else the human-readable `text()`.
 * @param value plain data (what a script reads)
 * @param text the lines a person reads, built only when needed
 */
export function printResult(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text().replace(/\n$/, '')}\n`);
}

/**
 * Creates an output folder, or fails with one coded line naming it: called after every other
 * option has been checked, so nothing is written for a call that is refused.
 * @param dir the folder (`--out`)
 * @param flag the option it came from, for the message
 * @throws CliError `ERR_CANNOT_CREATE_DIR`
 */
export async function prepareOutputDirectory(dir: string, flag: string): Promise<void> {
  try {
    await makeDirectory(dir);
  } catch (err) {
    throw new CliError('ERR_CANNOT_CREATE_DIR', `${flag}: ${(err as Error).message}`);
  }
}

/** {@link prepareOutputDirectory} for an output file: its folder. */
export function prepareOutputFile(file: string, flag: string): Promise<void> {
  return prepareOutputDirectory(dirname(file), flag);
}

/** How long the CLI waits for a queue's Redis to accept a connection ({@link QUEUE_DEFAULTS}). */
export const QUEUE_CONNECT_TIMEOUT_MS = QUEUE_DEFAULTS.connectTimeoutMs;

/** How long `spottune experiment --status` waits for the queue's answer ({@link QUEUE_DEFAULTS}). */
export const QUEUE_STATUS_TIMEOUT_MS = QUEUE_DEFAULTS.statusTimeoutMs;

/**
 * Opens and closes one TCP connection to the queue's Redis, so that a wrong URL fails in seconds
 * with a coded error naming it instead of waiting forever.
 * @param url `--queue`'s redis:// or rediss:// URL
 * @throws CliError `ERR_QUEUE_UNREACHABLE` naming the URL (password hidden), or the URL's own RangeError
 */
export async function probeQueue(url: string, timeoutMs = QUEUE_CONNECT_TIMEOUT_MS): Promise<void> {
  const { redactUrl, redisOptions } = await import('../experiment/queue/connection.js');
  const options = redisOptions(url, '--queue');
  const shown = redactUrl(url);
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: options.host ?? '127.0.0.1', port: options.port ?? 6379 });
    const fail = (why: string) => {
      socket.destroy();
      reject(new CliError('ERR_QUEUE_UNREACHABLE', `--queue ${shown}: cannot reach Redis at ${options.host}:${options.port} (${why})`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
  });
}

/**
 * Checks that an input path exists and is a folder (`want: 'directory'`) or a file, so that a
 * mistyped path fails as one coded line naming the flag before any work starts.
 * @throws CliError `ENOENT`, `ENOTDIR`, `EISDIR` or `EACCES` naming the flag and the path
 */
export async function checkInputPath(path: string, flag: string, want: 'directory' | 'file'): Promise<void> {
  const { stat } = await import('node:fs/promises');
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ENOENT';
    const words =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'no such file or directory'
        : code === 'EACCES'
          ? 'permission denied'
          : (err as Error).message;
    throw new CliError(code === 'ENOTDIR' ? 'ENOENT' : code, `${flag} ${path}: ${words}`);
  }
  if (want === 'directory' && !isDirectory) throw new CliError('ENOTDIR', `${flag} ${path}: not a directory`);
  if (want === 'file' && isDirectory) throw new CliError('EISDIR', `${flag} ${path}: is a directory, expected a file`);
}
