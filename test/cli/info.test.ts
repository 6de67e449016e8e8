import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

test('spottune info --json prints runtime()', () => {
  const out = run('info', '--json');
  expect(out.status).toBe(0);
  const info = JSON.parse(out.stdout);
  expect(info.torchVersion).toMatch(/^\d+\.\d+/);
  expect(info).toHaveProperty('cudaAvailable');
  expect(info).toHaveProperty('cudnn');
  expect(info.buildInfo.buildSystem).toMatch(/cmake-js|node-gyp/);
});

test('spottune info prints a table', () => {
  const out = run('info');
  expect(out.status).toBe(0);
  expect(out.stdout).toMatch(/^torch\s+\d/m);
  expect(out.stdout).toMatch(/^threads\s+\d+/m);
});

test('an unknown command fails with help and a non-zero exit', () => {
  const out = run('nonsense');
  expect(out.status).not.toBe(0);
  expect(out.stderr).toMatch(/unknown command/);
});
