// The one bounding-box scanner (lib/data/preprocess/bounding-box.ts) against a plain triple loop,
// over the element types its callers pass (uint8/int16 masks, float32/float64 working buffers with
// negatives, -0 and NaN, plain arrays) and over views that start inside their buffer (the
// all-zero-row memcmp must read the view's own bytes).
import { describe, expect, test } from 'vitest';
import type { CropBox } from '../../lib/config/data.js';
import { scanBox, type BoxTest } from '../../lib/data/preprocess/bounding-box.js';
import { maskRegion, tumourBox, type Shape3 } from '../../lib/data/preprocess/index.js';

function naive(values: ArrayLike<number>, [D, H, W]: Shape3, test: BoxTest): { count: number; box: CropBox | undefined } {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  let count = 0;
  for (let z = 0, i = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++, i++) {
        const v = values[i];
        if (test === 'positive' ? v > 0 : v !== 0) {
          count++;
          [z, y, x].forEach((c, a) => {
            lo[a] = Math.min(lo[a], c);
            hi[a] = Math.max(hi[a], c);
          });
        }
      }
  return { count, box: count === 0 ? undefined : ([0, 1, 2].map((a) => [lo[a], hi[a] + 1]) as CropBox) };
}

/** A sparse pattern: mostly zero rows, a few voxels of `pick`'s values. */
function pattern(n: number, seed: number, pick: readonly number[]): number[] {
  let s = seed;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: n }, () => (rand() < 0.04 ? pick[Math.floor(rand() * pick.length)] : 0));
}

const shape: Shape3 = [5, 7, 6];
const n = shape[0] * shape[1] * shape[2];
const kinds = [
  ['Uint8Array', (v: number[]) => Uint8Array.from(v), [1, 2, 4]],
  ['Int16Array', (v: number[]) => Int16Array.from(v), [3, -2, 7]],
  ['Float32Array', (v: number[]) => Float32Array.from(v), [0.5, -1.5, Number.NaN, -0]],
  ['Float64Array', (v: number[]) => Float64Array.from(v), [1e-300, -3, Number.NaN, -0, Infinity]],
  ['plain array', (v: number[]) => v, [1, -1, 0.25]],
] as const;

describe('scanBox equals a triple loop', () => {
  test.each(kinds.flatMap(([name, make, pick]) => [1, 2, 3].map((seed) => [name, seed, make, pick] as const)))(
    '%s, seed %d',
    (_, seed, make, pick) => {
      const values = make(pattern(n, seed, pick));
      for (const t of ['positive', 'non-zero'] as const) expect(scanBox(values, shape, t)).toEqual(naive(values, shape, t));
    },
  );

  test.each(kinds.filter(([name]) => name !== 'plain array'))('a %s view that starts inside its buffer', (_, make, pick) => {
    const inner = pattern(n, 7, pick);
    const padded = make([9, 9, 9, 9, ...inner, 9, 9, 9, 9]) as Uint8Array | Int16Array | Float32Array | Float64Array;
    const view = padded.subarray(4, 4 + n);
    for (const t of ['positive', 'non-zero'] as const) expect(scanBox(view, shape, t)).toEqual(naive(make(inner), shape, t));
  });

  test('empty, all-zero, one voxel, all voxels', () => {
    expect(scanBox(new Uint8Array(0), [0, 4, 4], 'positive')).toEqual({ count: 0, box: undefined });
    expect(scanBox(new Float32Array(n), shape, 'non-zero')).toEqual({ count: 0, box: undefined });
    const one = new Uint8Array(n);
    one[(2 * 7 + 3) * 6 + 5] = 1;
    expect(scanBox(one, shape, 'positive')).toEqual({
      count: 1,
      box: [
        [2, 3],
        [3, 4],
        [5, 6],
      ],
    });
    expect(scanBox(new Uint8Array(n).fill(1), shape, 'positive')).toEqual({
      count: n,
      box: [
        [0, 5],
        [0, 7],
        [0, 6],
      ],
    });
  });
});

describe('the crop geometry uses it', () => {
  test('maskRegion and tumourBox agree with the scanner on labels > 0', () => {
    const mask = Uint8Array.from(pattern(n, 11, [1, 2, 4]));
    const want = naive(mask, shape, 'positive');
    expect(maskRegion(mask, shape)).toEqual({ inside: want.count, box: want.box });
    expect(tumourBox(mask, shape)).toEqual(want.box);
  });

  test('BAD CALL: a mask that does not hold the shape is a RangeError', () => {
    expect(() => maskRegion(new Uint8Array(n - 1), shape)).toThrow(RangeError);
    expect(() => tumourBox(new Uint8Array(n + 1), shape)).toThrow(/Expected mask to hold 210 voxels/);
  });
});
