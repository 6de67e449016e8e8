// Garbage into the augmentation verbs of the raw binding, in a child process: the child must end
// normally, having seen only JS exceptions and rejections (a segfault or abort would show as a signal).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const addon = fileURLToPath(new URL('../../dist/lib/native/binding.js', import.meta.url));

test('no argument to the augmentation verbs can crash the process', () => {
  const script = `
    const { native } = await import(${JSON.stringify(addon)});
    const b = native();
    const vol = b.NativeTensor.fromArray(new Float32Array(24), [2, 3, 4], null);
    const flat = b.NativeTensor.fromArray(new Float32Array(24), [24], null);
    const ints = b.NativeTensor.fromArray(new Int32Array(24), [2, 3, 4], null);
    const gone = b.NativeTensor.fromArray(new Float32Array(24), [2, 3, 4], null); gone.dispose();
    const garbage = [undefined, null, 0, -1, 1.5, NaN, 'x', {}, [], [-1], [3], [0, 0], [1e20], new Float64Array(3),
      new Float64Array(81), vol, flat, ints, gone, { order: 7, mode: 'x' }, { order: 1, mode: 'constant', angleDeg: NaN, axes: [0, 0] },
      { seed: -1, mean: 0, std: 1 }, { seed: 1, mean: 0, std: -1 }, 10n];
    let settled = 0, calls = 0;
    const verbs = ['augmentFlip', 'augmentRotate', 'augmentElastic', 'augmentNoise'];
    for (const name of verbs) for (const a of [vol, ...garbage]) for (const c of garbage) for (const d of [undefined, [3, 3, 3], [1, 1, 1]]) {
      calls++;
      try { const r = b[name](a, c, c, d, c); if (r && typeof r.then === 'function') await r.then(() => settled++, () => settled++); }
      catch (e) { if (!(e instanceof Error)) throw new Error(name + ' threw a non-Error'); settled++; }
    }
    console.log(JSON.stringify({ calls, settled }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 300_000 });
  expect(run.signal).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const { calls, settled } = JSON.parse(run.stdout.trim().split('\n').pop()!);
  expect(calls).toBeGreaterThan(1000);
  expect(settled).toBe(calls);
});
