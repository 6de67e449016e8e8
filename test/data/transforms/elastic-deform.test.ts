import { beforeAll, describe, expect, test } from 'vitest';
import { elasticDeform, randomElasticDeform, Tensor } from '../../../lib/index.js';
import { requireNative } from '../../helpers/native.js';
import { boxMask, countDifferent, maxAbsDiff, randomVolume, reference } from './reference.js';

requireNative();
const shape = [11, 14, 9];
const image = randomVolume(shape, 7);
const mask = boxMask(shape);
const grid = (points: readonly number[], sigma: number) =>
  Array.from({ length: 3 * points[0] * points[1] * points[2] }, (_, i) => sigma * Math.sin(1.7 * i + 0.3));
const CASES = [
  [[3, 3, 3], 0],
  [[3, 3, 3], 1],
  [[4, 3, 5], 1],
  [[2, 3, 1], 0],
] as const;
let refs: ReturnType<typeof reference>;
beforeAll(() => {
  refs = reference(
    shape,
    image,
    [
      ...CASES.map(([points, order]) => ({ op: 'elastic' as const, displacement: grid(points, 3), points, order })),
      { op: 'elastic_random' as const, seed: 1234, sigma: 5, points: 3, order: 0 },
    ],
    mask,
  );
});

describe('elasticDeform', () => {
  test.each(CASES.map((c, i) => [...c, i] as const))(
    'grid %j, order %d, matches elasticdeform.deform_grid (its scipy reference)',
    async (points, order, i) => {
      const displacement = grid(points, 3);
      const ref = refs[i];
      const out = await elasticDeform({ data: image, shape }, displacement, points, { order, mode: 'constant' });
      if (order === 1) expect(maxAbsDiff(out.image.data, ref.image)).toBeLessThan(1e-5);
      // order 0 rounds coordinates that agree to ~1e-12: a tie could flip one voxel, no more
      else expect(countDifferent(out.image.data, ref.image)).toBeLessThanOrEqual(1);
    },
  );

  test("randomElasticDeform(seed) is elasticdeform.deform_random_grid after np.random.seed(seed), the study's settings", async () => {
    const ref = refs[CASES.length];
    const out = await randomElasticDeform({ data: image, shape }, { seed: 1234, mask: { data: mask, shape } });
    expect(out.displacement.length).toBe(81);
    expect(countDifferent(out.image.data, ref.image)).toBeLessThanOrEqual(1);
    expect(countDifferent(out.mask!.data, ref.mask!)).toBeLessThanOrEqual(1);
  });

  test('a zero grid is the identity; one seed reproduces, another differs; a Tensor stays a Tensor', async () => {
    const zero = await elasticDeform({ data: image, shape }, new Float64Array(81), [3, 3, 3], { order: 1 });
    expect(maxAbsDiff(zero.image.data, image)).toBeLessThan(1e-6);
    const a = await randomElasticDeform(Tensor.from(image, shape), { seed: 9 });
    const b = await randomElasticDeform(Tensor.from(image, shape), { seed: 9 });
    const c = await randomElasticDeform(Tensor.from(image, shape), { seed: 10 });
    expect(a.image).toBeInstanceOf(Tensor);
    expect(Array.from(a.image.dataSync() as Float32Array)).toEqual(Array.from(b.image.dataSync() as Float32Array));
    expect(countDifferent(a.image.dataSync() as Float32Array, c.image.dataSync() as Float32Array)).toBeGreaterThan(100);
  });

  test('a uniform shift moves the volume by whole voxels and fills 0 where it left the image', async () => {
    const displacement = new Float64Array(3 * 27);
    displacement.fill(2, 0, 27); // +2 voxels along D everywhere: out[z] = in[z + 2]
    const out = await elasticDeform({ data: image, shape }, displacement, [3, 3, 3], { order: 0 });
    const plane = shape[1] * shape[2];
    expect(Array.from(out.image.data.subarray(0, plane))).toEqual(Array.from(image.subarray(2 * plane, 3 * plane)));
    expect(out.image.data.subarray((shape[0] - 2) * plane).every((v) => v === 0)).toBe(true);
  });

  test('BAD CALL: grid size, points and values are checked by name', async () => {
    await expect(elasticDeform({ data: image, shape }, new Float64Array(80), [3, 3, 3])).rejects.toThrow(/displacement/);
    await expect(elasticDeform({ data: image, shape }, new Float64Array(3), [1, 1, 0] as never)).rejects.toThrow(/points\[2\]/);
    await expect(elasticDeform({ data: image, shape }, [NaN, 0, 0], [1, 1, 1])).rejects.toThrow(/finite/);
    await expect(randomElasticDeform({ data: image, shape }, { seed: 1, sigma: -1 })).rejects.toThrow(/options\.sigma/);
  });
});
