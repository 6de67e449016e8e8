import { beforeAll, describe, expect, test } from 'vitest';
import { flip, randomFlip, Tensor } from '../../../lib/index.js';
import { requireNative } from '../../helpers/native.js';
import { boxMask, randomVolume, reference } from './reference.js';

requireNative();
const shape = [5, 6, 7];
const image = randomVolume(shape, 3);
const mask = boxMask(shape);
const AXES = [[0, 1, 2], [0], [1, 2], [2]];
let refs: ReturnType<typeof reference>;
beforeAll(() => {
  refs = reference(
    shape,
    image,
    AXES.map((axes) => ({ op: 'flip' as const, axes })),
    mask,
  );
});

describe('flip', () => {
  test.each(AXES.map((axes, i) => [axes, i] as const))('reverses axes %j as numpy.flip, image and mask alike', async (axes, i) => {
    const ref = refs[i];
    const out = await flip({ data: image, shape }, { axes, mask: { data: mask, shape } });
    expect(out.image.shape).toEqual(shape);
    expect(Array.from(out.image.data)).toEqual(Array.from(ref.image));
    expect(Array.from(out.mask!.data)).toEqual(Array.from(ref.mask!));
  });

  test("the study's default mirrors all three axes (a point reflection)", async () => {
    const { image: out } = await flip({ data: image, shape });
    expect(out.data[0]).toBe(image[image.length - 1]);
    expect(out.data[image.length - 1]).toBe(image[0]);
  });

  test('a Tensor in gives a Tensor out; flipping twice is the identity', async () => {
    const t = Tensor.from(image, shape);
    const once = (await flip(t)).image;
    expect(once).toBeInstanceOf(Tensor);
    expect(once.shape).toEqual(shape);
    const twice = (await flip(once)).image;
    expect(Array.from(twice.dataSync() as Float32Array)).toEqual(Array.from(image));
  });

  test('randomFlip is reproducible and reports the axes it reversed', async () => {
    const a = await randomFlip({ data: image, shape }, { seed: 11 });
    const b = await randomFlip({ data: image, shape }, { seed: 11 });
    expect(a.axes).toEqual(b.axes);
    expect(Array.from(a.image.data)).toEqual(Array.from(b.image.data));
    const all = await randomFlip({ data: image, shape }, { seed: 11, probability: 1 });
    expect(all.axes).toEqual([0, 1, 2]);
    const none = await randomFlip({ data: image, shape }, { seed: 11, probability: 0 });
    expect(Array.from(none.image.data)).toEqual(Array.from(image));
  });

  test('BAD CALL: wrong axes, shapes and kinds name the argument', async () => {
    await expect(flip({ data: image, shape }, { axes: [3] })).rejects.toThrow(/options\.axes\[0\]/);
    await expect(flip({ data: image, shape }, { axes: [1, 1] })).rejects.toThrow(RangeError);
    await expect(flip({ data: image, shape: [5, 6] })).rejects.toThrow(/image\.shape/);
    await expect(flip({ data: image, shape: [5, 6, 8] })).rejects.toThrow(/data\.length/);
    await expect(flip({ data: image, shape }, { mask: { data: new Float32Array(8), shape: [2, 2, 2] } })).rejects.toThrow(/options\.mask/);
    await expect(flip({ data: [1, 2] as unknown as Float32Array, shape: [1, 1, 2] })).rejects.toThrow(TypeError);
    await expect(flip(Tensor.from(image, [210]))).rejects.toThrow(/\[D, H, W\]/);
  });
});
