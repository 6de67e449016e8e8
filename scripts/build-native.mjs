#!/usr/bin/env node
// `npm install` / `npm ci` run this. It builds build/Release/spottune3d.node with cmake-js against the
// LibTorch that scripts/libtorch.mjs resolves (installing Debian's libtorch-dev when that is the only
// way), unless a prebuild for this platform is already in prebuilds/ (node-gyp-build prefers it).
//   --force        build even when a prebuild or an up-to-date build exists
//   --debug        a Debug build
//   SPOTTUNE_BUILD_FROM_SOURCE=1   ignore prebuilds
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveLibTorch } from './libtorch.mjs';
import { nativeSources } from './native-sources.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
const force = args.has('--force') || process.env.SPOTTUNE_BUILD_FROM_SOURCE === '1';
const log = (line) => console.error(`[spottune3d] ${line}`);

function hasPrebuild() {
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.node'));
}

function newestSource() {
  const files = [...nativeSources(), 'CMakeLists.txt'].map((f) => join(root, f));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

const output = join(root, 'build', 'Release', 'spottune3d.node');
if (!force && hasPrebuild()) {
  log(`using the prebuild in prebuilds/${process.platform}-${process.arch}; set SPOTTUNE_BUILD_FROM_SOURCE=1 to compile`);
  process.exit(0);
}
if (!force && existsSync(output) && statSync(output).mtimeMs > newestSource()) {
  log(`${output} is up to date`);
  process.exit(0);
}

const torch = resolveLibTorch({ install: true, log });
log(`LibTorch: ${torch.source}${torch.version ? ` ${torch.version}` : ''} (${torch.cmakeDir})${torch.cuda ? ', CUDA' : ''}`);

// cmake-js downloads Node's headers unless told where they are; a Node installed with its headers
// (Debian's, the official tarballs) has them beside the binary, and npm passes npm_config_nodedir.
/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: '' };
const localHeaders = resolve(dirname(process.execPath), '..');
if (!env.npm_config_nodedir && existsSync(join(localHeaders, 'include', 'node', 'node_api.h'))) {
  env.npm_config_nodedir = localHeaders;
}

const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const jobs = String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism())));
const build = spawnSync(
  process.execPath,
  [
    cmakeJs,
    'compile',
    '--log-level',
    'warn',
    ...(args.has('--debug') ? ['--debug'] : []),
    `--CDCMAKE_PREFIX_PATH=${torch.cmakeDir}`,
    `--CDTorch_DIR=${torch.cmakeDir}`,
    ...(process.env.SPOTTUNE_CUDA_ARCH ? [`--CDTORCH_CUDA_ARCH_LIST=${process.env.SPOTTUNE_CUDA_ARCH}`] : []),
  ],
  { cwd: root, stdio: 'inherit', env: { ...env, CMAKE_BUILD_PARALLEL_LEVEL: jobs } },
);
if (build.status !== 0) {
  log('the native build failed; see the compiler output above');
  process.exit(build.status ?? 1);
}
log(`built ${output} (${(statSync(output).size / 1e6).toFixed(1)} MB)`);
