#!/usr/bin/env node
// The one place that decides which LibTorch the addon builds against. CMakeLists.txt (through
// cmake-js, see build-native.mjs) and binding.gyp (through `<!(node scripts/libtorch.mjs ...)`)
// both ask this module, so the two builds cannot drift apart.
//
// Order, first match wins:
//   1. $LIBTORCH              an unpacked LibTorch (for example a CUDA build)
//   2. third_party/libtorch   an unpacked LibTorch beside the sources
//   3. Python torch           the cmake prefix of an importable `torch` package
//   4. the system install     Debian's libtorch-dev (/usr/lib/<triplet>/cmake/Torch)
// When nothing is found, `resolveLibTorch({ install: true })` installs libtorch-dev with apt-get
// on Debian as root, and otherwise throws a message that says what to install or set.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TORCH_CONFIG = 'TorchConfig.cmake';

/** @typedef {{ source: string, prefix: string, cmakeDir: string, includeDirs: string[], libDir: string,
 *   libraries: string[], cxx11Abi: 0 | 1, cuda: boolean, version: string | null }} LibTorch */

function findTorchConfig(prefix) {
  const candidates = [
    join(prefix, 'share', 'cmake', 'Torch'),
    join(prefix, 'lib', 'cmake', 'Torch'),
    join(prefix, 'cmake', 'Torch'),
    prefix,
  ];
  return candidates.find((dir) => existsSync(join(dir, TORCH_CONFIG))) ?? null;
}

// The C++ ABI flag LibTorch was built with; a mismatch links but crashes on std::string.
function readAbi(cmakeDir, pythonAbi) {
  if (pythonAbi !== undefined) return pythonAbi ? 1 : 0;
  for (const file of [TORCH_CONFIG, 'Caffe2Targets.cmake']) {
    const path = join(cmakeDir, file);
    if (!existsSync(path)) continue;
    const match = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(path, 'utf8'));
    if (match) return Number(match[1]) === 1 ? 1 : 0;
  }
  return 1;
}

function describe(source, prefix, cmakeDir, extra = {}) {
  // Debian splits the headers (/usr/include) from the libraries (/usr/lib/<triplet>).
  const includeCandidates = [join(prefix, 'include'), join(prefix, 'include', 'torch', 'csrc', 'api', 'include')];
  const includeDirs = includeCandidates.filter((dir) => existsSync(dir));
  const libDir = extra.libDir ?? join(prefix, 'lib');
  const has = (name) => existsSync(join(libDir, `lib${name}.so`));
  const libraries = ['torch', 'torch_cpu', 'c10', 'torch_cuda', 'c10_cuda'].filter(has);
  const versionFile = [join(prefix, 'build-version'), join(cmakeDir, 'TorchConfigVersion.cmake')].find(existsSync);
  let version = extra.version ?? null;
  if (!version && versionFile) {
    const text = readFileSync(versionFile, 'utf8');
    version = (/PACKAGE_VERSION "([^"]+)"/.exec(text) ?? [null, text.trim()])[1] || null;
  }
  return {
    source,
    prefix,
    cmakeDir,
    includeDirs: extra.includeDirs ?? includeDirs,
    libDir,
    libraries,
    cxx11Abi: readAbi(cmakeDir, extra.cxx11Abi),
    cuda: libraries.includes('torch_cuda'),
    version,
  };
}

function fromPrefix(source, prefix) {
  const cmakeDir = findTorchConfig(prefix);
  return cmakeDir ? describe(source, prefix, cmakeDir) : null;
}

function fromPython() {
  const code = [
    'import json, os, torch, torch.utils',
    'p = os.path.dirname(torch.__file__)',
    'print(json.dumps({"prefix": p, "cmake": torch.utils.cmake_prefix_path, "version": torch.__version__,',
    '  "abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI)}))',
  ].join('\n');
  for (const python of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    const run = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
    if (run.status !== 0) continue;
    try {
      const info = JSON.parse(run.stdout.trim().split('\n').pop());
      // Debian's python3-torch is a thin wrapper around the system libtorch: defer to step 4 so
      // that the system install is named as what it is.
      if (info.prefix.startsWith('/usr/lib/python3/')) continue;
      const cmakeDir = findTorchConfig(join(info.cmake, 'Torch')) ?? findTorchConfig(info.prefix);
      if (!cmakeDir) continue;
      return describe(`python torch ${info.version} (${python})`, info.prefix, cmakeDir, {
        version: info.version,
        cxx11Abi: info.abi,
      });
    } catch {
      continue;
    }
  }
  return null;
}

function systemTriplet() {
  try {
    return execFileSync('gcc', ['-dumpmachine'], { encoding: 'utf8' }).trim();
  } catch {
    return `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  }
}

function fromSystem() {
  const libDir = join('/usr/lib', systemTriplet());
  const cmakeDir = join(libDir, 'cmake', 'Torch');
  if (!existsSync(join(cmakeDir, TORCH_CONFIG))) return null;
  let version = null;
  try {
    version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libtorch-dev'], { encoding: 'utf8' }).trim() || null;
  } catch {
    /* not a dpkg system: the version stays unknown */
  }
  return describe('system (libtorch-dev)', '/usr', cmakeDir, {
    libDir,
    includeDirs: ['/usr/include', '/usr/include/torch/csrc/api/include'].filter(existsSync),
    version,
  });
}

/** Every place looked at, in order, with what was found there. */
export function probeLibTorch() {
  const tried = [];
  const attempt = (label, fn) => {
    const found = fn();
    tried.push(`${label}: ${found ? `found (${found.cmakeDir})` : 'not found'}`);
    return found;
  };
  const env = process.env.LIBTORCH;
  const found =
    (env && attempt(`LIBTORCH=${env}`, () => fromPrefix(`LIBTORCH=${env}`, resolve(env)))) ||
    attempt('third_party/libtorch', () => fromPrefix('third_party/libtorch', join(root, 'third_party', 'libtorch'))) ||
    attempt('python torch', fromPython) ||
    attempt('system libtorch-dev', fromSystem) ||
    null;
  if (!env) tried.unshift('LIBTORCH: not set');
  return { found, tried };
}

function isDebianRoot() {
  return existsSync('/etc/debian_version') && typeof process.getuid === 'function' && process.getuid() === 0;
}

export const INSTALL_HELP = [
  'spottune3d needs LibTorch (the C++ distribution of PyTorch) to build its addon. Do one of:',
  '  - Debian/Ubuntu: sudo apt-get install libtorch-dev',
  '  - unpack a LibTorch zip (CPU or CUDA) and set LIBTORCH=/path/to/libtorch, or put it at third_party/libtorch',
  '  - pip install torch, so that `python3 -c "import torch"` works (its bundled LibTorch is used)',
].join('\n');

/**
 * Resolve LibTorch, installing Debian's libtorch-dev when allowed and nothing else is found.
 * @param {{ install?: boolean, log?: (line: string) => void }} [options]
 * @returns {LibTorch}
 */
export function resolveLibTorch({ install = false, log = () => {} } = {}) {
  let { found, tried } = probeLibTorch();
  if (!found && install && isDebianRoot()) {
    log('LibTorch not found; installing Debian libtorch-dev with apt-get');
    /** @type {import('node:child_process').SpawnSyncOptions} */
    const opts = { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    spawnSync('apt-get', ['update', '-qq'], opts);
    const run = spawnSync('apt-get', ['install', '-y', '-qq', 'libtorch-dev'], opts);
    if (run.status === 0) ({ found, tried } = probeLibTorch());
  }
  if (!found) {
    throw new Error(`LibTorch was not found. Looked at:\n  ${tried.join('\n  ')}\n${INSTALL_HELP}`);
  }
  return found;
}

// CLI: `node scripts/libtorch.mjs [--json|--include|--libdir|--cmake-dir|--ldflags|--abi|--which]`.
// binding.gyp calls this with `<!@(...)`, so each flag prints space-separated words.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flag = process.argv[2] ?? '--json';
  try {
    const lt = resolveLibTorch({ install: process.argv.includes('--install'), log: (l) => console.error(l) });
    const out = {
      '--json': () => JSON.stringify(lt, null, 2),
      '--include': () => lt.includeDirs.join(' '),
      '--libdir': () => lt.libDir,
      '--cmake-dir': () => lt.cmakeDir,
      '--ldflags': () => [`-L${lt.libDir}`, `-Wl,-rpath,${lt.libDir}`, ...lt.libraries.map((l) => `-l${l}`)].join(' '),
      '--abi': () => String(lt.cxx11Abi),
      '--which': () => `${lt.source} ${lt.version ?? ''} at ${lt.cmakeDir}`.trim(),
    }[flag];
    if (!out) throw new Error(`unknown flag ${flag}`);
    process.stdout.write(`${out()}\n`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
