#!/usr/bin/env node
// `npm run prebuild`: prebuilds/<platform>-<arch>/ with prebuildify, which drives node-gyp through
// binding.gyp (same sources and LibTorch as the cmake-js build, see scripts/libtorch.mjs). The
// prebuild is N-API (one file for every Node version) and bundles nothing of LibTorch: the machine
// that loads it needs the same LibTorch at the same path (its RPATH), e.g. Debian's libtorch-dev.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveLibTorch } from './libtorch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const torch = resolveLibTorch({ install: true, log: (l) => console.error(`[spottune3d] ${l}`) });
console.error(`[spottune3d] prebuild against LibTorch: ${torch.source}${torch.version ? ` ${torch.version}` : ''}`);

/** @type {NodeJS.ProcessEnv} */
const env = {
  JOBS: 'max',
  ...process.env,
  PREBUILD_NODE_GYP: join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js'),
};
// node-gyp downloads Node's headers unless told where they are (see build-native.mjs).
const local = resolve(dirname(process.execPath), '..');
if (!env.npm_config_nodedir && existsSync(join(local, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = local;

const prebuildify = join(dirname(require.resolve('prebuildify/package.json')), 'bin.js');
const run = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });
process.exit(run.status ?? 1);
