import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import type { CropBox } from '../../lib/config/data.js';
import { readNpy, writeNpy } from '../../lib/io/npy.js';
import {
  applyMask,
  cropVolume,
  gaussianFilter,
  imgAsFloat,
  minMaxScale,
  padTo,
  preprocessVolume,
  rescaledShape,
  rescaleVolume,
  resolvePreprocess,
  tumourBox,
  zoomLinear,
  type Shape3,
} from '../../lib/data/preprocess/index.js';
import { readNifti, writeNifti } from '../../lib/io/nifti.js';

const REF = fileURLToPath(new URL('../../scripts/fixtures/data/preprocess-reference.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spottune-prep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ref = (...args: string[]) => execFileSync('/usr/bin/python3', [REF, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });

/** A deterministic smooth-plus-rough test volume. */
function volume(shape: Shape3, seed = 1): Float64Array {
  const [D, H, W] = shape;
  const out = new Float64Array(D * H * W);
  let s = seed;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  for (let z = 0, i = 0; z < D; z++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++, i++) out[i] = Math.sin(z / 3) * Math.cos(y / 5) + x / W + 0.3 * rand();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function ellipsoidMask(shape: Shape3, c: number[], r: number[]): Uint8Array {
  const [D, H, W] = shape;
  const m = new Uint8Array(D * H * W);
  for (let z = 0, i = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++, i++) {
        const d = ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2;
        m[i] = d < 0.3 ? 1 : d < 0.6 ? 4 : d < 1 ? 2 : 0;
      }
  return m;
}

describe('steps agree with SciPy / scikit-image', () => {
  test('rescaledShape rounds half to even, as NumPy', () => {
    const shapes = [
      [140, 172, 164],
      [155, 240, 240],
      [35, 45, 43],
      [1, 3, 5],
      [70, 86, 82],
    ];
    const want = JSON.parse(ref('shapes', '0.5', ...shapes.map((s) => s.join(','))));
    expect(shapes.map((s) => rescaledShape(s, 0.5))).toEqual(want);
    expect(rescaledShape([155, 240, 240], 0.5)).toEqual([78, 120, 120]); // 77.5 -> 78
    expect(rescaledShape([165, 5, 7], 0.5)).toEqual([82, 2, 4]); // 82.5 -> 82, 2.5 -> 2, 3.5 -> 4
  });

  test.each([
    ['float64', [0.5, 0.5, 0.5]],
    ['float64', [0.49, 0, 1.3]],
    ['float32', [0.5, 0.7, 0.25]],
  ] as const)('gaussianFilter (%s, sigma %j) = ndi.gaussian_filter(mode="mirror")', async (dtype, sigma) => {
    const shape: Shape3 = [9, 4, 13]; // an axis shorter than the kernel exercises repeated mirroring
    const x = dtype === 'float32' ? Float32Array.from(volume(shape)) : volume(shape);
    const inPath = join(dir, `g-in-${dtype}.npy`);
    await writeNpy(inPath, Float32Array.from(x), shape);
    // the reference gets the float32 values; for float64 compare against a float64 file
    if (dtype === 'float64') writeNpy64(inPath, x as Float64Array, shape);
    ref('gaussian', inPath, sigma.join(','), join(dir, 'g-out.npy'));
    const want = await readNpy64(join(dir, 'g-out.npy'));
    const got = gaussianFilter(x, shape, sigma);
    expect(maxAbsDiff(got, want)).toBeLessThan(dtype === 'float32' ? 1e-6 : 1e-12);
  });

  test('gaussianFilter on a mostly-zero volume (a blob at an edge) = ndi.gaussian_filter exactly', async () => {
    const shape: Shape3 = [12, 10, 14];
    const x = new Float64Array(12 * 10 * 14);
    const dense = volume(shape, 9);
    for (let z = 0; z < 3; z++)
      for (let y = 4; y < 7; y++) for (let xx = 11; xx < 14; xx++) x[(z * 10 + y) * 14 + xx] = dense[(z * 10 + y) * 14 + xx] + 1;
    const inPath = join(dir, 'g-sparse.npy');
    writeNpy64(inPath, x, shape);
    ref('gaussian', inPath, '0.5,1.2,0.5', join(dir, 'g-sparse-out.npy'));
    const want = await readNpy64(join(dir, 'g-sparse-out.npy'));
    expect(maxAbsDiff(gaussianFilter(x, shape, [0.5, 1.2, 0.5]), want)).toBeLessThan(1e-15);
    expect(Array.from(gaussianFilter(new Float64Array(8), [2, 2, 2], [0.5, 0.5, 0.5]))).toEqual(new Array(8).fill(0));
  });

  test.each([
    [
      [20, 17, 9],
      [10, 8, 5],
    ],
    [
      [7, 6, 5],
      [14, 3, 5],
    ], // upsampling reaches past the edges: mirror mapping of coordinates
    [
      [140, 8, 12],
      [70, 4, 6],
    ],
  ] as const)('zoomLinear %j -> %j = ndi.zoom(order=1, mode="mirror", grid_mode=True)', async (from, to) => {
    const x = volume(from as Shape3, 3);
    const inPath = join(dir, 'z-in.npy');
    writeNpy64(inPath, x, from);
    ref('zoom', inPath, to.join(','), join(dir, 'z-out.npy'));
    const want = await readNpy64(join(dir, 'z-out.npy'));
    expect(maxAbsDiff(zoomLinear(x, from as Shape3, to as Shape3), want)).toBeLessThan(1e-12);
  });

  test('rescaleVolume = skimage.transform.rescale(x, 0.5) on odd shapes, float64 and float32', async () => {
    const shape: Shape3 = [35, 45, 43];
    for (const dtype of ['float64', 'float32'] as const) {
      const x = dtype === 'float32' ? Float32Array.from(volume(shape, 5)) : volume(shape, 5);
      const inPath = join(dir, `r-in-${dtype}.npy`);
      if (dtype === 'float32') await writeNpy(inPath, x as Float32Array, shape);
      else writeNpy64(inPath, x as Float64Array, shape);
      ref('rescale', inPath, '0.5', join(dir, 'r-out.npy'));
      const want = await readNpy64(join(dir, 'r-out.npy'));
      const got = rescaleVolume(x, shape, 0.5);
      expect(got.shape).toEqual([18, 22, 22]);
      expect(got.data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
      expect(maxAbsDiff(got.data, want)).toBeLessThan(dtype === 'float32' ? 1e-6 : 1e-12);
    }
  });

  test('imgAsFloat matches skimage.img_as_float for integer types', () => {
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import json, numpy as np
from skimage import img_as_float
r = {}
for t in ['int16', 'uint16', 'int8', 'uint8', 'int32', 'uint32']:
    info = np.iinfo(t); a = np.array([info.min, -1 if info.min < 0 else 0, 0, 1, info.max], dtype=t)
    r[t] = [a.tolist(), img_as_float(a).tolist()]
print(json.dumps(r))`,
      ],
      { encoding: 'utf8' },
    );
    for (const [t, [input, want]] of Object.entries(JSON.parse(out) as Record<string, [number[], number[]]>)) {
      expect(Array.from(imgAsFloat(Float64Array.from(input), t as never))).toEqual(want);
    }
  });
});

describe("the whole pipeline agrees with the study's Python (nibabel + NumPy + scikit-image)", () => {
  const cases: Array<{
    name: string;
    shape: Shape3;
    dtype: 'int16' | 'float32' | 'uint8';
    box: CropBox;
    scale: number;
    pad: [number, number, number] | null;
    slope?: number;
  }> = [
    {
      name: 'int16, odd crop, pad to 20x24x24',
      shape: [40, 50, 45],
      dtype: 'int16',
      box: [
        [2, 37],
        [3, 48],
        [1, 44],
      ],
      scale: 0.5,
      pad: [20, 24, 24],
    },
    {
      name: 'float32, no padding',
      shape: [30, 33, 31],
      dtype: 'float32',
      box: [
        [0, 30],
        [1, 32],
        [0, 31],
      ],
      scale: 0.5,
      pad: null,
    },
    {
      name: 'uint8, scale 0.4',
      shape: [24, 26, 28],
      dtype: 'uint8',
      box: [
        [0, 24],
        [0, 26],
        [0, 28],
      ],
      scale: 0.4,
      pad: [12, 12, 12],
    },
    {
      name: 'int16 with scl_slope (read as float32)',
      shape: [20, 22, 24],
      dtype: 'int16',
      box: [
        [1, 19],
        [2, 20],
        [3, 23],
      ],
      scale: 0.5,
      pad: [10, 10, 10],
      slope: 0.001,
    },
  ];
  test.each(cases)('$name', async ({ shape, dtype, box, scale, pad, slope }) => {
    const raw = volume(shape, 7);
    const values =
      dtype === 'int16'
        ? Int16Array.from(raw, (v) => Math.round(v * 3000))
        : dtype === 'uint8'
          ? Uint8Array.from(raw, (v) => Math.max(0, Math.round(v * 100 + 50)))
          : Float32Array.from(raw, (v) => v * 123.4);
    const affine = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const imagePath = join(dir, `p-${dtype}-${shape.join('x')}.nii.gz`);
    const maskPath = join(dir, `p-mask-${shape.join('x')}.nii.gz`);
    await writeNifti(imagePath, { data: values, shape, spacing: [1, 1, 1], affine }, { sclSlope: slope });
    await writeNifti(maskPath, {
      data: ellipsoidMask(shape, [shape[0] / 2, shape[1] / 2, shape[2] / 2], [shape[0] / 3, shape[1] / 3, shape[2] / 3]),
      shape,
      spacing: [1, 1, 1],
      affine,
    });
    const out = join(dir, 'p-out.npy');
    ref('pipeline', imagePath, maskPath, box.flat().join(','), String(scale), pad ? pad.join(',') : 'none', out);
    const want = await readNpy(out);

    const image = await readNifti(imagePath);
    const mask = await readNifti(maskPath);
    const config = resolvePreprocess({ crop: box, scale, padTo: pad });
    const got = preprocessVolume(
      { data: image.data, shape: image.shape, sourceDtype: image.scaled ? 'float32' : image.header.dtype },
      mask,
      box,
      config,
    );
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.shape).toEqual(want.shape);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThan(1e-5);
  });

  test('the paper geometry: 155x240x240 int16 -> crop [0:140, 39:211, 44:208] -> 70x86x82 -> pad 70x86x86', async () => {
    const shape: Shape3 = [155, 240, 240];
    const n = shape[0] * shape[1] * shape[2];
    const values = new Int16Array(n);
    for (let z = 0, i = 0; z < 155; z++)
      for (let y = 0; y < 240; y++)
        for (let x = 0; x < 240; x++, i++)
          values[i] = Math.round(1000 + 400 * Math.sin(z / 7) * Math.cos(y / 11) + 3 * x + ((i * 2654435761) % 97));
    const affine = [
      [-1, 0, 0, 0],
      [0, -1, 0, 239],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const imagePath = join(dir, 'paper-t1.nii.gz');
    const maskPath = join(dir, 'paper-mask.nii.gz');
    await writeNifti(imagePath, { data: values, shape, spacing: [1, 1, 1], affine }, { compressionLevel: 1 });
    await writeNifti(
      maskPath,
      { data: ellipsoidMask(shape, [70, 120, 110], [40, 50, 45]), shape, spacing: [1, 1, 1], affine },
      { compressionLevel: 1 },
    );
    const out = join(dir, 'paper-out.npy');
    ref('pipeline', imagePath, maskPath, '0,140,39,211,44,208', '0.5', '70,86,86', out);
    const want = await readNpy(out);
    const image = await readNifti(imagePath);
    const mask = await readNifti(maskPath);
    const config = resolvePreprocess({});
    expect(config.crop).toBe('paper');
    const got = preprocessVolume(
      { data: image.data, shape: image.shape, sourceDtype: 'int16' },
      mask,
      [
        [0, 140],
        [39, 211],
        [44, 208],
      ],
      config,
    );
    if (!got.ok) throw new Error(got.reason);
    expect(got.shape).toEqual([70, 86, 86]);
    expect(want.shape).toEqual([70, 86, 86]);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThan(1e-5);
    // the padding: 2 zero columns either side of the last axis
    for (let i = 0; i < 70 * 86; i++)
      expect([got.data[i * 86], got.data[i * 86 + 1], got.data[i * 86 + 84], got.data[i * 86 + 85]]).toEqual([0, 0, 0, 0]);
  });
});

describe('steps by hand, and bad data skipped with a reason', () => {
  const shape: Shape3 = [4, 5, 6];
  const ones = new Float32Array(120).fill(1);

  test('applyMask keeps label > 0; cropVolume slices; padTo centres with d//2 before', () => {
    const mask = new Uint8Array(120);
    mask[7] = 4;
    mask[8] = 2;
    const m = applyMask(
      Float32Array.from(ones, (_, i) => i),
      mask,
    );
    expect(Array.from(m).filter((v) => v !== 0)).toEqual([7, 8]);
    const c = cropVolume(
      Float64Array.from(ones, (_, i) => i),
      shape,
      [
        [1, 3],
        [2, 4],
        [0, 2],
      ],
    );
    expect(c.shape).toEqual([2, 2, 2]);
    expect(Array.from(c.data)).toEqual([42, 43, 48, 49, 72, 73, 78, 79]);
    expect(() =>
      cropVolume(ones, shape, [
        [0, 5],
        [0, 5],
        [0, 6],
      ]),
    ).toThrow(RangeError);
    const p = padTo(new Float32Array([1, 2, 3]), [1, 1, 3], [1, 2, 6]);
    expect(Array.from(p.data)).toEqual([0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => padTo(new Float32Array(4), [1, 1, 4], [1, 1, 3])).toThrow(/smaller/);
    expect(minMaxScale(new Float64Array([2, 4, 3]))).toEqual(new Float32Array([0, 1, 0.5]));
    expect(minMaxScale(new Float64Array([2, 2]))).toBeUndefined();
    expect(tumourBox(mask, shape)).toEqual([
      [0, 1],
      [1, 2],
      [1, 3],
    ]);
  });

  const config = resolvePreprocess({
    crop: [
      [0, 4],
      [0, 5],
      [0, 6],
    ],
    padTo: null,
  });
  const box: CropBox = [
    [0, 4],
    [0, 5],
    [0, 6],
  ];
  const full = { data: new Uint8Array(120).fill(1), shape };
  test.each([
    ['shape-mismatch', { data: ones, shape, sourceDtype: 'float32' as const }, { data: new Uint8Array(60).fill(1), shape: [2, 5, 6] }],
    ['empty-mask', { data: ones, shape, sourceDtype: 'float32' as const }, { data: new Uint8Array(120), shape }],
    [
      'non-finite',
      { data: Float32Array.from(ones, (v, i) => (i === 9 ? NaN : i === 10 ? Infinity : v)), shape, sourceDtype: 'float32' as const },
      full,
    ],
    ['constant', { data: ones, shape, sourceDtype: 'float32' as const }, full],
  ])('%s', (code, image, mask) => {
    const r = preprocessVolume(image, mask, box, config);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.reason.length).toBeGreaterThan(10);
    }
  });

  test('a crop box larger than the volume is a shape mismatch, not a crash', () => {
    const r = preprocessVolume(
      { data: ones, shape, sourceDtype: 'float32' },
      full,
      [
        [0, 140],
        [39, 211],
        [44, 208],
      ],
      resolvePreprocess({}),
    );
    expect(r).toMatchObject({ ok: false, code: 'shape-mismatch' });
  });
});

// float64 .npy helpers for exact comparisons (the library writes float32 only)
function writeNpy64(path: string, data: Float64Array, shape: readonly number[]): void {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  const pad = (64 - ((10 + dict.length + 1) % 64)) % 64;
  const header = Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1');
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  writeFileSync(path, Buffer.concat([prefix, header, Buffer.from(data.buffer)]));
}
async function readNpy64(path: string): Promise<Float64Array> {
  const buf = readFileSync(path);
  const len = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + len);
  const body = buf.subarray(10 + len);
  if (header.includes("'<f4'"))
    return Float64Array.from(new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)));
  return new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
}
