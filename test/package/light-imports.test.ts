// Importing the root or any door but the queue's and the report's loads neither the job queue's
// packages (bullmq, ioredis, msgpackr's native extension) nor the plotting stack (vega, vega-lite,
// d3): each door is imported in a fresh process whose every resolved module is recorded.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { DOORS, HEAVY_DOORS, packageRoot } from './doors.js';

const HEAVY = /^(bullmq|ioredis|msgpackr|msgpackr-extract|@msgpackr-extract\/.+|vega|vega-.+|d3-.+)$/;
const dir = mkdtempSync(join(tmpdir(), 'spottune-light-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ES modules are seen by a resolve hook (it runs off the main thread, so it appends to a file);
// CommonJS ones, .node files included, are in the CommonJS cache afterwards.
const hook = join(dir, 'hook.mjs');
writeFileSync(
  hook,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.LOG, r.url + '\\n');
  return r;
}`,
);
const probe = `
import { register, createRequire } from 'node:module';
register(${JSON.stringify(pathToFileURL(hook).href)});
await import(process.env.DOOR);
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url)('node:module')._cache)));`;

/** The files a fresh process resolves or requires while importing `file`, and their packages. */
function loadedBy(file: string): { files: string[]; packages: string[] } {
  const log = join(dir, `${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const run = spawnSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', probe], {
    encoding: 'utf8',
    env: { ...process.env, DOOR: pathToFileURL(file).href, LOG: log },
  });
  expect(run.status, run.stderr).toBe(0);
  const files = [
    ...readFileSync(log, 'utf8').split('\n').filter(Boolean),
    ...(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '[]') as string[]),
  ];
  const names = new Set<string>();
  for (const f of files) {
    const at = f.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const [scope, name] = f.slice(at + 'node_modules/'.length).split('/');
    names.add(scope.startsWith('@') ? `${scope}/${name}` : scope);
  }
  return { files, packages: [...names].sort() };
}

test.each(DOORS.filter((d) => !HEAVY_DOORS.has(d.specifier)))('importing $specifier loads no queue or plotting package', ({ file }) => {
  const { files, packages } = loadedBy(file);
  expect(files, 'the probe saw the door itself').toContain(pathToFileURL(file).href);
  expect(packages.filter((p) => HEAVY.test(p))).toEqual([]);
});

test('the probe sees a heavy package when one is loaded', () => {
  const bullmq = join(dir, 'bullmq.mjs');
  writeFileSync(
    bullmq,
    `import { createRequire } from 'node:module';\ncreateRequire(${JSON.stringify(join(packageRoot, 'package.json'))})('bullmq');`,
  );
  const { packages } = loadedBy(bullmq);
  expect(packages).toContain('bullmq');
  expect(packages).toContain('ioredis');
});

// Node 20.19+ and 22.12+ load ES modules through require() when their graph has no top-level
// await; vega-canvas has one, so the root may reach vega only through import().
test.skipIf(!(process.features as { require_module?: boolean }).require_module).each(DOORS)(
  'require($specifier) works (require(esm))',
  ({ file }) => {
    const run = spawnSync(process.execPath, ['--no-warnings', '-e', `console.log(Object.keys(require(${JSON.stringify(file)})).length)`], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(Number(run.stdout.trim())).toBeGreaterThan(0);
  },
);
