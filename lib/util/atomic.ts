/**
 * Atomic file writes: every file the library writes (caches, checkpoints, reports, splits) goes
 * through here, so an interrupted run leaves either the old file or the new one, never half of one.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

// `.<name>.<pid>.<8 hex>.tmp`: the writer's pid is in the name so that a later run can tell the
// temporaries of a dead writer (a kill -9 mid-write) from those of a live one.
function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** An error of {@link makeDirectory}: `code` is `ERR_CANNOT_CREATE_DIR`, `path` the folder asked for. */
export class DirectoryError extends Error {
  readonly code = 'ERR_CANNOT_CREATE_DIR';
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DirectoryError';
  }
}

function creationError(dir: string, at: string, err: NodeJS.ErrnoException): DirectoryError {
  const why =
    err.code === 'ENOTDIR' || err.code === 'EEXIST' ? `${at} is not a directory` : `mkdir ${at} failed with ${err.code ?? err.message}`;
  return new DirectoryError(`Cannot create the folder ${dir}: ${why}`, dir, { cause: err });
}

/**
 * The folders from the nearest existing ancestor of `dir` down to `dir`, created one at a time.
 * Node 20's `mkdir(dir, { recursive: true })` loops forever at 100% CPU where mkdir answers
 * ENOENT under a parent that exists (/proc, /sys); one mkdir per level fails instead.
 */
function missingLevels(dir: string, isDirectory: (p: string) => boolean | undefined): string[] {
  const levels: string[] = [];
  let current = resolve(dir);
  for (;;) {
    const found = isDirectory(current);
    if (found === true) return levels.reverse();
    if (found === false) throw creationError(resolve(dir), current, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
    levels.push(current);
    const parent = dirname(current);
    if (parent === current) return levels.reverse();
    current = parent;
  }
}

const statDirectory = (p: string): boolean | undefined => {
  try {
    return statSync(p).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw creationError(p, p, err as NodeJS.ErrnoException);
  }
};

/**
 * Creates `dir` and its missing parents, like `mkdir -p`, failing instead of spinning where the
 * file system refuses new folders.
 * @throws DirectoryError (`ERR_CANNOT_CREATE_DIR`) naming the folder and the level that failed
 */
export async function makeDirectory(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return; // the common case: one stat
  } catch {
    /* missing (or unreadable): walk up below */
  }
  for (const level of missingLevels(dir, statDirectory)) {
    try {
      await mkdir(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statDirectory(level) === true) continue; // a concurrent writer made it
      throw creationError(resolve(dir), level, err as NodeJS.ErrnoException);
    }
  }
}

/** Synchronous twin of {@link makeDirectory}. */
export function makeDirectorySync(dir: string): void {
  if (statDirectory(dir) === true) return;
  for (const level of missingLevels(dir, statDirectory)) {
    try {
      mkdirSync(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statDirectory(level) === true) continue;
      throw creationError(resolve(dir), level, err as NodeJS.ErrnoException);
    }
  }
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries that writers which are no longer alive left in `dir` (a kill -9 during
 * {@link writeFileAtomic}); those of live writers stay. Called when a run folder or a cache is
 * resumed. Not recursive. A missing `dir` has nothing to clean.
 * @returns the names removed
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename.
 * Parent directories are created ({@link makeDirectory}).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  await makeDirectory(dirname(path));
  const tmp = temporaryPath(path);
  const chunks = typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
  try {
    const handle = await open(tmp, 'w');
    try {
      for (const chunk of chunks) {
        let offset = 0;
        while (offset < chunk.byteLength) {
          const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
          offset += bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(path));
}

/** Synchronous twin of {@link writeFileAtomic}, for exit paths where awaiting is not possible. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  makeDirectorySync(dirname(path));
  const tmp = temporaryPath(path);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let offset = 0;
      while (offset < bytes.byteLength) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes a value as pretty JSON, atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

// The rename itself is durable only once the directory entry is flushed.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* some file systems refuse fsync on a directory; the rename is still atomic */
  }
}
