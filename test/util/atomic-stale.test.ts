// Atomic writes against hostile folders and killed writers: makeDirectory fails where Node 20's
// recursive mkdir would spin (/proc), and removeStaleTemporaries removes what a kill -9 mid-write
// left behind while a live writer's temporary stays.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { makeDirectory, makeDirectorySync, removeStaleTemporaries, writeFileAtomic } from '../../lib/util/atomic.js';

const root = mkdtempSync(join(tmpdir(), 'atomic-stale-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// the child runs the compiled module (rebuild with `npx tsc -p tsconfig.build.json`)
const atomicModule = new URL('../../dist/lib/util/atomic.js', import.meta.url).href;

/**
 * Starts a child that begins writeFileAtomic(target) and then spins in the middle of the write
 * (its chunk iterator never returns), kills it with SIGKILL once the temporary exists, and returns
 * the temporary's name.
 */
async function killMidWrite(target: string): Promise<string> {
  const script = `
    const { writeFileAtomic } = await import(${JSON.stringify(atomicModule)});
    function* chunks() { yield new Uint8Array(4096).fill(7); for (;;) {} }
    await writeFileAtomic(${JSON.stringify(target)}, chunks());`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  const dir = join(target, '..');
  const prefix = `.${target.split('/').pop()}.${child.pid}.`;
  const deadline = Date.now() + 30_000;
  let name: string | undefined;
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.once('exit', r));
  while (!name && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    name = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.tmp')) : undefined;
  }
  child.kill('SIGKILL');
  await exited;
  expect(name, `the child never opened its temporary: ${stderr}`).toBeDefined();
  return name!;
}

describe('removeStaleTemporaries', () => {
  test("removes a killed writer's temporary, keeps a live writer's and every other file", async () => {
    const dir = join(root, 'run');
    mkdirSync(dir);
    const stale = await killMidWrite(join(dir, 'checkpoint.pth'));
    const live = `.checkpoint.pth.${process.pid}.0123abcd.tmp`;
    writeFileSync(join(dir, live), 'mine');
    writeFileSync(join(dir, 'metrics.jsonl'), '{}\n');
    writeFileSync(join(dir, '.not-a-temporary.tmp'), '');
    expect(await removeStaleTemporaries(dir)).toEqual([stale]);
    expect(readdirSync(dir).sort()).toEqual([live, '.not-a-temporary.tmp', 'metrics.jsonl'].sort());
    // a missing folder has nothing to clean
    expect(await removeStaleTemporaries(join(root, 'absent'))).toEqual([]);
  }, 60_000);
});

describe('makeDirectory', () => {
  test('creates missing levels, and is a no-op on an existing folder', async () => {
    const deep = join(root, 'a', 'b', 'c');
    await makeDirectory(deep);
    expect(existsSync(deep)).toBe(true);
    await makeDirectory(deep);
    makeDirectorySync(join(deep, 'd'));
    expect(existsSync(join(deep, 'd'))).toBe(true);
    await writeFileAtomic(join(root, 'x', 'y', 'f.txt'), 'ok');
    expect(existsSync(join(root, 'x', 'y', 'f.txt'))).toBe(true);
  });

  test('BAD CALL: a folder under /proc, or under a file, fails with a coded error instead of spinning', async () => {
    const started = Date.now();
    await expect(makeDirectory('/proc/spottune-x/y')).rejects.toMatchObject({
      code: 'ERR_CANNOT_CREATE_DIR',
      message: expect.stringMatching(/^Cannot create the folder \/proc\/spottune-x\/y: mkdir \/proc\/spottune-x failed with E/),
    });
    expect(() => makeDirectorySync('/proc/spottune-x')).toThrow(/Cannot create the folder \/proc\/spottune-x/);
    await expect(writeFileAtomic('/proc/spottune-x/f.json', '{}')).rejects.toMatchObject({ code: 'ERR_CANNOT_CREATE_DIR' });
    expect(Date.now() - started).toBeLessThan(5000);
    const file = join(root, 'plain-file');
    writeFileSync(file, '');
    await expect(makeDirectory(join(file, 'sub'))).rejects.toMatchObject({
      code: 'ERR_CANNOT_CREATE_DIR',
      message: `Cannot create the folder ${join(file, 'sub')}: ${file} is not a directory`,
    });
  });
});
