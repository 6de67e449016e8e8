// Garbage into every native entry point, in a child process: the child must end normally, having
// seen only JS exceptions. A segfault or abort would show as a signal or a non-zero exit.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const addon = fileURLToPath(new URL('../../dist/lib/native/binding.js', import.meta.url));

test('no argument to the raw binding can crash the process', () => {
  const script = `
    const { native } = await import(${JSON.stringify(addon)});
    const b = native();
    const garbage = [undefined, null, 0, -1, 1.5, NaN, 'x', 'cuda:99', {}, [], [-1], [1e20], [1, 'a'],
      new Float32Array(3), new Uint16Array(2), () => 1, Symbol('s'), 10n];
    let thrown = 0, calls = 0;
    const fns = ['runtime', 'setNumThreads', 'manualSeed', 'conv3d'].map((k) => [k, b[k]]);
    fns.push(['fromArray', b.NativeTensor.fromArray]);
    const t = b.NativeTensor.fromArray(new Float32Array(4), [4]);
    for (const m of ['to', 'data', 'dataSync', 'shape', 'dtype', 'device', 'dispose'])
      fns.push([m, (...a) => t[m](...a)]);
    for (const [name, fn] of fns) {
      for (const a of garbage) for (const c of garbage.slice(0, 10)) {
        calls++;
        try { const r = fn(a, c, a); if (r && typeof r.then === 'function') await r.catch(() => thrown++); }
        catch (e) { if (!(e instanceof Error)) throw new Error(name + ' threw a non-Error'); thrown++; }
      }
    }
    try { new b.NativeTensor().shape(); } catch { thrown++; }
    console.log(JSON.stringify({ calls, thrown }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(run.signal).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const { calls, thrown } = JSON.parse(run.stdout.trim().split('\n').pop()!);
  expect(calls).toBeGreaterThan(1000);
  expect(thrown).toBeGreaterThan(100); // the bad calls were refused, not silently accepted
});

test('tensors left to the garbage collector are freed', () => {
  // 1500 x 4 MB = 6 GB if finalizers did not release LibTorch memory
  const script = `
    const { native } = await import(${JSON.stringify(addon)});
    const b = native();
    for (let i = 0; i < 1500; i++) {
      b.NativeTensor.fromArray(new Float32Array(1 << 20), [1 << 20]);
      if (i % 50 === 0) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
    }
    globalThis.gc();
    console.log(process.memoryUsage().rss);
  `;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(run.status).toBe(0);
  expect(Number(run.stdout.trim())).toBeLessThan(1.5e9);
});
