// preprocessVolume works on the tumour's bounding box after masking: every value must equal the
// whole-crop composition of the public steps (each proven against SciPy / scikit-image in
// preprocess.test.ts), bit for bit, wherever the tumour lies and whatever the scale and type.
import { describe, expect, test } from 'vitest';
import type { CropBox } from '../../lib/config/data.js';
import {
  maskCropConvert,
  maskRegion,
  minMaxScale,
  padTo,
  preprocessVolume,
  rescaleVolume,
  resolvePreprocess,
  tumourBox,
  type PreprocessInput,
  type Shape3,
} from '../../lib/data/preprocess/index.js';
import type { VoxelArray, VoxelDType } from '../../lib/io/volume.js';

/** The pipeline over the whole crop, as preprocessVolume computed it before it followed the tumour. */
function wholeCrop(image: PreprocessInput, mask: ArrayLike<number>, box: CropBox, options: Parameters<typeof resolvePreprocess>[0]) {
  const config = resolvePreprocess(options);
  const cropped = maskCropConvert(image, mask, box, config.intensity);
  const scaled =
    config.scale === 1 ? cropped : rescaleVolume(cropped.data, cropped.shape, config.scale, { antiAliasing: config.antiAliasing });
  const unit = minMaxScale(scaled.data);
  if (!unit) return undefined;
  return config.padTo ? padTo(unit, scaled.shape, config.padTo) : { data: unit, shape: scaled.shape };
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** A tumour of random extent (at times touching the volume's or the crop's faces) with labels 1, 2, 4. */
function blobMask(shape: Shape3, rand: () => number): Uint8Array {
  const [D, H, W] = shape;
  const lo = shape.map((n) => Math.floor(rand() * n * 0.8));
  const hi = shape.map((n, i) => Math.min(n - 1, lo[i] + 1 + Math.floor(rand() * n * 0.6)));
  const m = new Uint8Array(D * H * W);
  for (let z = lo[0]; z <= hi[0]; z++)
    for (let y = lo[1]; y <= hi[1]; y++)
      for (let x = lo[2]; x <= hi[2]; x++) if (rand() < 0.85) m[(z * H + y) * W + x] = [1, 2, 4][Math.floor(rand() * 3)];
  return m;
}

function values(dtype: VoxelDType, n: number, rand: () => number): VoxelArray {
  const v = Array.from({ length: n }, () => rand() * 2 - 0.3);
  if (dtype === 'uint8') return Uint8Array.from(v, (x) => Math.max(0, Math.round(x * 120)));
  if (dtype === 'int16') return Int16Array.from(v, (x) => Math.round(x * 3000));
  if (dtype === 'float64') return Float64Array.from(v, (x) => x * 77.7);
  return Float32Array.from(v, (x) => x * 123.4);
}

/** Equal as numbers, element by element (a report of the first differences on failure). */
function expectSame(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const diff: string[] = [];
  for (let i = 0; i < got.length && diff.length < 5; i++) if (got[i] !== want[i]) diff.push(`[${i}] ${got[i]} != ${want[i]}`);
  expect(diff).toEqual([]);
}

describe('the tumour-box pipeline equals the whole-crop pipeline exactly', () => {
  const cases: Array<{ dtype: VoxelDType; scale: number; antiAliasing?: boolean; pad?: boolean; slope?: number }> = [
    { dtype: 'int16', scale: 0.5, pad: true },
    { dtype: 'float32', scale: 0.5 },
    { dtype: 'uint8', scale: 0.4, pad: true },
    { dtype: 'float64', scale: 0.33 },
    { dtype: 'int16', scale: 0.25 },
    { dtype: 'int16', scale: 0.5, antiAliasing: false },
    { dtype: 'float32', scale: 1 },
    { dtype: 'int16', scale: 0.5, slope: 0.001 },
  ];
  test.each(cases)(
    '$dtype, scale $scale, antiAliasing $antiAliasing, pad $pad, slope $slope',
    ({ dtype, scale, antiAliasing, pad, slope }) => {
      const shape: Shape3 = [23, 27, 25];
      const n = shape[0] * shape[1] * shape[2];
      for (let trial = 0; trial < 12; trial++) {
        const rand = lcg(1000 + trial * 7 + scale * 100);
        const mask = blobMask(shape, rand);
        const image: PreprocessInput = { data: values(dtype, n, rand), shape, sourceDtype: dtype, slope: slope ?? 1, inter: 0 };
        // crops: the whole volume, and one cut on every face (the tumour may cross it)
        const box: CropBox =
          trial % 2 === 0
            ? [
                [0, 23],
                [0, 27],
                [0, 25],
              ]
            : [
                [2, 21],
                [1, 26],
                [3, 24],
              ];
        const cropped = box.map(([a, b]) => b - a);
        const scaledShape = cropped.map((c) => Math.max(1, Math.round(c * scale)));
        const options = { crop: box, scale, antiAliasing, padTo: pad ? (scaledShape.map((m) => m + 3) as Shape3) : null };
        const want = wholeCrop(image, mask, box, options);
        const got = preprocessVolume(image, { data: mask, shape }, box, resolvePreprocess(options));
        if (!want) {
          expect(got.ok).toBe(false);
          continue;
        }
        if (!got.ok) throw new Error(`trial ${trial}: ${got.reason}`);
        expect(got.shape).toEqual(want.shape);
        expectSame(got.data, want.data);
      }
    },
  );

  test('a tumour in one corner of the volume (the filters mirror at the faces)', () => {
    const shape: Shape3 = [16, 18, 20];
    const mask = new Uint8Array(16 * 18 * 20);
    for (const [z, y, x] of [
      [0, 0, 0],
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
      [15, 17, 19],
      [15, 16, 19],
    ])
      mask[(z * 18 + y) * 20 + x] = 1;
    const rand = lcg(5);
    const image: PreprocessInput = { data: values('float32', mask.length, rand), shape, sourceDtype: 'float32' };
    for (const box of [
      [
        [0, 16],
        [0, 18],
        [0, 20],
      ],
      [
        [0, 9],
        [0, 9],
        [0, 9],
      ],
    ] as CropBox[]) {
      const want = wholeCrop(image, mask, box, { crop: box, scale: 0.5, padTo: null })!;
      const got = preprocessVolume(image, { data: mask, shape }, box, resolvePreprocess({ crop: box, scale: 0.5, padTo: null }));
      if (!got.ok) throw new Error(got.reason);
      expectSame(got.data, want.data);
    }
  });

  test('skips: a tumour outside the crop, a constant tumour, an empty mask', () => {
    const shape: Shape3 = [10, 10, 10];
    const mask = new Uint8Array(1000);
    mask[(8 * 10 + 8) * 10 + 8] = 2;
    const image: PreprocessInput = { data: new Float32Array(1000).fill(3), shape, sourceDtype: 'float32' };
    const config = resolvePreprocess({
      crop: [
        [0, 6],
        [0, 6],
        [0, 6],
      ],
      scale: 0.5,
      padTo: null,
    });
    const box: CropBox = [
      [0, 6],
      [0, 6],
      [0, 6],
    ];
    expect(preprocessVolume(image, { data: mask, shape }, box, config)).toMatchObject({ ok: false, code: 'outside-crop' });
    const whole: CropBox = [
      [0, 10],
      [0, 10],
      [0, 10],
    ];
    const full = new Uint8Array(1000).fill(1);
    expect(
      preprocessVolume(image, { data: full, shape }, whole, resolvePreprocess({ crop: whole, scale: 0.5, padTo: null })),
    ).toMatchObject({ ok: false, code: 'constant' });
    expect(preprocessVolume(image, { data: new Uint8Array(1000), shape }, box, config)).toMatchObject({ ok: false, code: 'empty-mask' });
  });
});

describe('maskRegion', () => {
  test('counts label > 0 and boxes it like tumourBox, for any mask type', () => {
    const shape: Shape3 = [9, 11, 13];
    const rand = lcg(3);
    const u8 = blobMask(shape, rand);
    const want = tumourBox(u8, shape);
    const inside = u8.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
    for (const m of [u8, Int16Array.from(u8, (v) => (v > 0 ? v : -3)), Float32Array.from(u8, (v) => (v > 0 ? v : -0)), Array.from(u8)]) {
      expect(maskRegion(m, shape)).toEqual({ inside, box: want });
    }
    expect(maskRegion(new Uint8Array(9 * 11 * 13), shape)).toEqual({ inside: 0, box: undefined });
    expect(() => maskRegion(new Uint8Array(5), shape)).toThrow(/1287 voxels/);
  });

  test('a region given with the mask gives the same result as none', () => {
    const shape: Shape3 = [12, 14, 16];
    const rand = lcg(11);
    const mask = blobMask(shape, rand);
    const image: PreprocessInput = { data: values('int16', mask.length, rand), shape, sourceDtype: 'int16' };
    const box: CropBox = [
      [0, 12],
      [0, 14],
      [0, 16],
    ];
    const config = resolvePreprocess({ crop: box, scale: 0.5, padTo: [8, 8, 8] });
    const a = preprocessVolume(image, { data: mask, shape }, box, config);
    const b = preprocessVolume(image, { data: mask, shape, region: maskRegion(mask, shape) }, box, config);
    expect(a).toEqual(b);
    expect(a.ok).toBe(true);
  });
});
