import { describe, expect, test } from 'vitest';
import { randomNoise, Tensor } from '../../../lib/index.js';
import { requireNative } from '../../helpers/native.js';
import { boxMask, reference } from './reference.js';

requireNative();
const shape = [20, 30, 40];
const n = 20 * 30 * 40;

function stats(a: ArrayLike<number>, b: ArrayLike<number>) {
  let sum = 0,
    sq = 0,
    zeros = 0,
    ones = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d;
    sq += d * d;
    if (a[i] === 0) zeros++;
    if (a[i] === 1) ones++;
  }
  const mean = sum / a.length;
  return { mean, variance: sq / a.length - mean * mean, zeros: zeros / a.length, ones: ones / a.length };
}

describe('randomNoise', () => {
  test('adds N(0, 0.01) like skimage.util.random_noise: same moments and same clipping to [0, 1]', async () => {
    const mid = new Float32Array(n).fill(0.5);
    const [refMid] = reference(shape, mid, [{ op: 'noise', var: 0.01, seed: 3 }]);
    const low = new Float32Array(n).fill(0.1);
    const [refLow] = reference(shape, low, [{ op: 'noise', var: 0.01, seed: 3 }]);
    const out = await randomNoise({ data: mid, shape }, { seed: 3 });
    const ours = stats(out.image.data, mid);
    const theirs = stats(refMid.image, mid);
    expect(Math.abs(ours.mean)).toBeLessThan(0.002); // 24000 draws: sd of the mean 0.00065
    expect(ours.variance).toBeCloseTo(0.01, 3);
    expect(theirs.variance).toBeCloseTo(0.01, 3);
    // near the bounds ~16% of the voxels clip: both clip the same share
    const clipped = stats((await randomNoise({ data: low, shape }, { seed: 3 })).image.data, low);
    expect(clipped.zeros).toBeGreaterThan(0.14);
    expect(Math.abs(clipped.zeros - stats(refLow.image, low).zeros)).toBeLessThan(0.015);
    expect((await randomNoise({ data: low, shape }, { seed: 3 })).image.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  test('a volume with negative values clips to [-1, 1], as skimage', async () => {
    const neg = new Float32Array(n).fill(-0.95);
    const out = await randomNoise({ data: neg, shape }, { seed: 1 });
    const min = out.image.data.reduce((a, b) => Math.min(a, b), 0);
    expect(min).toBe(-1);
    expect(out.image.data.some((v) => v < -0.95)).toBe(true);
  });

  test('zero variance is the identity; one seed reproduces, on Tensors too; the mask is unchanged', async () => {
    const v = new Float32Array(n).fill(0.25);
    const mask = boxMask(shape);
    const zero = await randomNoise({ data: v, shape }, { seed: 1, variance: 0, mask: { data: mask, shape } });
    expect(Array.from(zero.image.data)).toEqual(Array.from(v));
    expect(Array.from(zero.mask!.data)).toEqual(Array.from(mask));
    const a = await randomNoise(Tensor.from(v, shape), { seed: 77 });
    const b = await randomNoise({ data: v, shape }, { seed: 77 });
    expect(a.image).toBeInstanceOf(Tensor);
    expect(Array.from(a.image.dataSync() as Float32Array)).toEqual(Array.from(b.image.data));
    const c = await randomNoise({ data: v, shape }, { seed: 78 });
    expect(Array.from(c.image.data)).not.toEqual(Array.from(b.image.data));
  });

  test('BAD CALL: seed and variance are checked by name', async () => {
    const v = { data: new Float32Array(8), shape: [2, 2, 2] };
    await expect(randomNoise(v, {} as { seed: number })).rejects.toThrow(/options\.seed/);
    await expect(randomNoise(v, { seed: 1.5 })).rejects.toThrow(TypeError);
    await expect(randomNoise(v, { seed: 1, variance: -1 })).rejects.toThrow(/options\.variance/);
  });
});
