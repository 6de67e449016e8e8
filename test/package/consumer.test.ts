// A consumer project compiled against the published types (dist/**/*.d.ts through package.json
// "exports") with `strict: true` and `skipLibCheck: false`: every door must type-check, with no
// dependency's typings dragging in the DOM library (vega's did, before the report's figures
// declared their own spec type).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DOORS, packageRoot } from './doors.js';

const tsc = join(packageRoot, 'node_modules/.bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'spottune-consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  expect(existsSync(join(packageRoot, 'dist/lib/index.d.ts')), 'dist/ is built (npx tsc -p tsconfig.build.json)').toBe(true);
  mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
  // As installed: the package under its name; @types/node, which any Node consumer has.
  symlinkSync(packageRoot, join(dir, 'node_modules/spottune3d'), 'dir');
  symlinkSync(join(packageRoot, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const imports = DOORS.map((d, i) => `import * as door${i} from '${d.specifier}';`).join('\n');
  writeFileSync(
    join(dir, 'index.ts'),
    `${imports}
import { Tensor, createNetwork, type NetworkOptions, type TrainOptions, type ExperimentOptions } from 'spottune3d';
import type { QueueWorkerOptions } from 'spottune3d/queue';
import type { Figure } from 'spottune3d/report';
export const doors = [${DOORS.map((_, i) => `door${i}`).join(', ')}];
export const options: { network?: NetworkOptions; train?: TrainOptions; experiment?: ExperimentOptions; worker?: QueueWorkerOptions } = {};
export type Used = [typeof Tensor, typeof createNetwork, Figure];
`,
  );
});

test.each([
  { name: 'NodeNext', compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } },
  // typesVersions serves the subpaths to projects still on the older resolution (zod's typings
  // need esModuleInterop there, as tsc --init sets it)
  { name: 'node10', compilerOptions: { module: 'CommonJS', moduleResolution: 'node10', esModuleInterop: true } },
])('a strict consumer with skipLibCheck false type-checks every door ($name resolution)', ({ name, compilerOptions }) => {
  const config = join(dir, `tsconfig.${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      compilerOptions: {
        ...compilerOptions,
        target: 'ES2022',
        lib: ['ES2023'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ['index.ts'],
    }),
  );
  const run = spawnSync(process.execPath, [tsc, '-p', config], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
});
