// A training process killed mid-epoch resumes from its last checkpoint and ends with the same
// selected model (bit for bit, on CPU) as a run that was never interrupted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const child = fileURLToPath(new URL('./train-child.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'train-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(outDir: string, args: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [child, outDir, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
}

test('a run killed mid-epoch resumes to the same history and selected model as an uninterrupted run', () => {
  const whole = run(join(root, 'whole'));
  expect(whole.stderr).toBe('');
  expect(whole.status).toBe(0);
  const expected = JSON.parse(whole.stdout.trim().split('\n').pop()!);
  expect(expected.history).toHaveLength(3);

  const out = join(root, 'killed');
  const killed = run(out, [], { KILL_AT: '1:1' }); // second step of the second epoch
  expect(killed.signal).toBe('SIGKILL');
  expect(existsSync(join(out, 'checkpoint.pth'))).toBe(true);
  expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  expect(existsSync(join(out, 'model.pth'))).toBe(false);

  const resumed = run(out, ['--resume']);
  expect(resumed.stderr).toBe('');
  expect(resumed.status).toBe(0);
  const got = JSON.parse(resumed.stdout.trim().split('\n').pop()!);
  expect(got.resumedFrom).toBe(1);
  expect(got.history).toEqual(expected.history);
  expect(got.selectedEpoch).toBe(expected.selectedEpoch);
  expect(got.weights).toBe(expected.weights);
  expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  expect(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')).selectedEpoch).toBe(expected.selectedEpoch);
});
