// The two builds read one description: the sources list and LibTorch discovery. CI builds with
// cmake-js; this proves that binding.gyp (node-gyp, prebuildify) still configures against them.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { nativeSources } from '../../scripts/native-sources.mjs';
import { probeLibTorch, resolveLibTorch } from '../../scripts/libtorch.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'spottune-build-'));
  temps.push(d);
  return d;
};

describe('LibTorch discovery', () => {
  test('finds a LibTorch here and says which', () => {
    const lt = resolveLibTorch();
    expect(existsSync(join(lt.cmakeDir, 'TorchConfig.cmake'))).toBe(true);
    expect(lt.libraries).toContain('torch');
    expect(lt.source.length).toBeGreaterThan(0);
  });

  test('LIBTORCH wins over every other place', () => {
    const fake = temp();
    mkdirSync(join(fake, 'share', 'cmake', 'Torch'), { recursive: true });
    writeFileSync(join(fake, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")\n');
    mkdirSync(join(fake, 'include'));
    mkdirSync(join(fake, 'lib'));
    writeFileSync(join(fake, 'lib', 'libtorch.so'), '');
    writeFileSync(join(fake, 'lib', 'libtorch_cuda.so'), '');
    writeFileSync(join(fake, 'build-version'), '2.5.1+cu124\n');
    const saved = process.env.LIBTORCH;
    process.env.LIBTORCH = fake;
    try {
      const { found, tried } = probeLibTorch();
      expect(found?.source).toBe(`LIBTORCH=${fake}`);
      expect(found?.cuda).toBe(true);
      expect(found?.cxx11Abi).toBe(0);
      expect(found?.version).toBe('2.5.1+cu124');
      expect(tried[0]).toMatch(/^LIBTORCH=.*found/);
    } finally {
      if (saved === undefined) delete process.env.LIBTORCH;
      else process.env.LIBTORCH = saved;
    }
  });

  test('an empty LIBTORCH is reported and the search goes on', () => {
    const saved = process.env.LIBTORCH;
    process.env.LIBTORCH = temp();
    try {
      const { found, tried } = probeLibTorch();
      expect(tried[0]).toMatch(/not found/);
      expect(found?.source).not.toMatch(/^LIBTORCH/);
    } finally {
      if (saved === undefined) delete process.env.LIBTORCH;
      else process.env.LIBTORCH = saved;
    }
  });
});

describe('builds', () => {
  test('the source list covers every .cc under native/', () => {
    const sources = nativeSources();
    expect(sources).toContain('native/addon.cc');
    expect(sources.every((s: string) => s.startsWith('native/') && s.endsWith('.cc'))).toBe(true);
  });

  test('the cmake-js build exists and is the one loaded', () => {
    expect(existsSync(join(root, 'build', 'Release', 'spottune3d.node'))).toBe(true);
  });

  test('binding.gyp configures with node-gyp against the same sources and LibTorch', () => {
    const dir = temp();
    for (const item of ['binding.gyp', 'package.json', 'scripts', 'native']) cpSync(join(root, item), join(dir, item), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const nodeGyp = join(dirname(fileURLToPath(import.meta.resolve('node-gyp/package.json'))), 'bin', 'node-gyp.js');
    const nodedir = join(dirname(process.execPath), '..');
    const args = [nodeGyp, 'configure', '--loglevel=error'];
    if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodedir}`);
    const run = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr + run.stdout).not.toMatch(/gyp ERR!/);
    expect(run.status).toBe(0);
    const makefile = readFileSync(join(dir, 'build', 'spottune3d.target.mk'), 'utf8');
    const lt = resolveLibTorch();
    for (const source of nativeSources()) expect(makefile).toContain(source.replace(/\.cc$/, '.o'));
    expect(makefile).toContain(lt.includeDirs[0]);
    expect(makefile).toMatch(/-ltorch\b/);
    expect(makefile).toContain('NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED');
  });
});
