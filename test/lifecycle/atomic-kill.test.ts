// A process killed while it writes must leave the old file or the new one, never part of one. A
// child rewrites one large file for ever with the library's writer (atomic-writer-child.mjs); it is
// SIGKILLed at random moments, so no cleanup runs, and after each kill the target is read with its
// real reader and must be a whole version. A temporary file left beside the target proves the kill
// landed between the temporary write and the rename; each kind must see at least one such kill,
// so the test cannot pass by only ever killing between two writes. A plain writeFile fails it: its
// target is truncated at the kill.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { readNifti } from '../../lib/io/nifti.js';
import { readNpy } from '../../lib/io/npy.js';
import { readPth } from '../../lib/io/pth/index.js';

const child = fileURLToPath(new URL('./atomic-writer-child.mjs', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'atomic-kill-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The version a whole file holds, read by its real reader; throws on anything else. */
const readers: Record<string, (path: string) => Promise<number>> = {
  pth: async (path) => {
    const tree = (await readPth(path)).tree as Map<string, unknown>;
    return uniform((tree.get('weight') as { data: Float32Array }).data, tree.get('version') as number);
  },
  nifti: async (path) => uniform((await readNifti(path)).data),
  npy: async (path) => uniform((await readNpy(path)).data),
  json: async (path) => {
    const value = JSON.parse(readFileSync(path, 'utf8')) as { version: number; values: number[] };
    return uniform(value.values, value.version);
  },
};
const files: Record<string, string> = { pth: 'model.pth', nifti: 'volume.nii', npy: 'volume.npy', json: 'result.json' };

function uniform(values: ArrayLike<number>, version = values[0]): number {
  expect(values.length).toBeGreaterThan(0);
  expect([1, 2]).toContain(version);
  for (let i = 0; i < values.length; i++)
    if (values[i] !== version) throw new Error(`value ${i} is ${values[i]} in a version-${version} file`);
  return version;
}

/** Starts the writer, waits for its first whole file, lets it run `delayMs`, then SIGKILLs it. */
function killWhileWriting(kind: string, path: string, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, kind, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let killed = false;
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d) => {
      if (!killed && String(d).includes('ready')) {
        killed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}: ${stderr}`))));
  });
}

test.each(Object.keys(files))(
  '%s: after every SIGKILL the target is a whole version',
  async (kind) => {
    const dir = mkdtempSync(join(base, `${kind}-`));
    const path = join(dir, files[kind]);
    const seen = new Set<number>();
    let midWrite = 0;
    let kills = 0;
    // Kill at spread delays until a kill has landed mid-write and both versions were seen (bounded).
    for (let i = 0; i < 24 && (kills < 6 || midWrite === 0 || seen.size < 2); i++) {
      await killWhileWriting(kind, path, 10 + ((i * 37) % 400));
      kills++;
      seen.add(await readers[kind](path));
      const temps = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      if (temps.length > 0) midWrite++;
      // a stale temporary file from a killed writer is not the target: remove it so the next count is fresh
      for (const t of temps) rmSync(join(dir, t));
    }
    expect(midWrite).toBeGreaterThan(0);
    expect(seen).toEqual(new Set([1, 2]));
  },
  300_000,
);
