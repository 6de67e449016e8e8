import { beforeAll, describe, expect, test } from 'vitest';
import { randomRotate, rotate, Tensor } from '../../../lib/index.js';
import { requireNative } from '../../helpers/native.js';
import { boxMask, maxAbsDiff, randomVolume, reference } from './reference.js';

requireNative();
const shape = [9, 12, 7];
const image = randomVolume(shape, 5);
const mask = boxMask(shape);
const SKIMAGE = [
  [37, [0, 1], 1],
  [-150, [0, 1], 1],
  [90, [1, 2], 1],
  [12.5, [0, 2], 0],
  [180, [2, 0], 1],
] as const;
const SCIPY = [
  [37, [0, 1], 1],
  [-120, [1, 2], 0],
  [75, [0, 2], 1],
] as const;
let refs: ReturnType<typeof reference>;
beforeAll(() => {
  refs = reference(
    shape,
    image,
    [
      ...SKIMAGE.map(([angle, plane, order]) => ({ op: 'rotate' as const, angle, plane, order, impl: 'skimage' })),
      ...SCIPY.map(([angle, plane, order]) => ({ op: 'rotate' as const, angle, plane, order, impl: 'scipy' })),
      { op: 'rotate' as const, angle: 33, plane: [0, 1], order: 1, impl: 'skimage' },
    ],
    mask,
  );
});

describe('rotate', () => {
  test.each(SKIMAGE.map((c, i) => [...c, i] as const))(
    '%d degrees in plane %j, order %d, matches skimage.transform.rotate (mode grid-constant)',
    async (angle, plane, order, i) => {
      const ref = refs[i];
      const out = await rotate({ data: image, shape }, angle, { plane, order, mode: 'grid-constant' });
      expect(maxAbsDiff(out.image.data, ref.image)).toBeLessThan(1e-5);
    },
  );

  test.each(SCIPY.map((c, i) => [...c, SKIMAGE.length + i] as const))(
    '%d degrees in plane %j, order %d, matches scipy.ndimage.rotate(reshape=False, mode constant)',
    async (angle, plane, order, i) => {
      const ref = refs[i];
      const out = await rotate({ data: image, shape }, angle, { plane, order, mode: 'constant' });
      expect(maxAbsDiff(out.image.data, ref.image)).toBeLessThan(1e-5);
    },
  );

  test('the mask turns with the image, nearest-neighbour, staying binary', async () => {
    const ref = refs[SKIMAGE.length + SCIPY.length];
    const out = await rotate({ data: image, shape }, 33, { mask: { data: mask, shape } });
    expect(maxAbsDiff(out.image.data, ref.image)).toBeLessThan(1e-5);
    expect(new Set(out.mask!.data)).toEqual(new Set([0, 1]));
    // skimage order 0 rounds exact halves differently from grid_sample; allow a handful of voxels
    let differ = 0;
    for (let i = 0; i < mask.length; i++) if (out.mask!.data[i] !== ref.mask![i]) differ++;
    expect(differ).toBeLessThanOrEqual(3);
  });

  test('0 degrees is the identity; 360 degrees too (within rounding)', async () => {
    expect(maxAbsDiff((await rotate({ data: image, shape }, 0)).image.data, image)).toBeLessThan(1e-6);
    expect(maxAbsDiff((await rotate({ data: image, shape }, 360)).image.data, image)).toBeLessThan(1e-5);
  });

  test('randomRotate draws a seeded angle in the range and reproduces it; Tensors stay Tensors', async () => {
    const a = await randomRotate(Tensor.from(image, shape), { seed: 42 });
    const b = await randomRotate(Tensor.from(image, shape), { seed: 42 });
    expect(a.image).toBeInstanceOf(Tensor);
    expect(a.angleDeg).toBe(b.angleDeg);
    expect(a.angleDeg).toBeGreaterThanOrEqual(-180);
    expect(a.angleDeg).toBeLessThan(180);
    expect(Array.from(a.image.dataSync() as Float32Array)).toEqual(Array.from(b.image.dataSync() as Float32Array));
    const c = await randomRotate(Tensor.from(image, shape), { seed: 43 });
    expect(c.angleDeg).not.toBe(a.angleDeg);
    const fixed = await randomRotate({ data: image, shape }, { seed: 1, rangeDeg: [30, 30] });
    expect(fixed.angleDeg).toBe(30);
  });

  test('BAD CALL: angle, plane, order and mode are checked by name', async () => {
    await expect(rotate({ data: image, shape }, NaN)).rejects.toThrow(/angleDeg/);
    await expect(rotate({ data: image, shape }, 10, { plane: [1, 1] })).rejects.toThrow(/options\.plane/);
    await expect(rotate({ data: image, shape }, 10, { order: 3 as 1 })).rejects.toThrow(/options\.order/);
    await expect(rotate({ data: image, shape }, 10, { mode: 'constnat' as 'constant' })).rejects.toThrow(/did you mean "constant"/);
    await expect(randomRotate({ data: image, shape }, { seed: -1 })).rejects.toThrow(/seed/);
  });
});
