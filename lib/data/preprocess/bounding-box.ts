/**
 * The one bounding-box scanner of the preprocessing (docs/study.md section 2): where a mask's
 * tumour lies (label > 0), and where a working buffer is non-zero (the region a Gaussian pass must
 * compute). Every caller (maskRegion, tumourBox, gaussianFilter) goes through {@link scanBox}.
 * @module
 */
import type { CropBox } from '../../config/data.js';

/** What {@link scanBox} counts: voxels with value > 0 (mask labels), or voxels with value !== 0 (NaN included). */
export type BoxTest = 'positive' | 'non-zero';

/**
 * One pass over a C-order [D, H, W] buffer: how many voxels pass `test` and their bounding box,
 * half-open per axis (`undefined` when none pass).
 *
 * Rows whose bytes are all zero are skipped with one memcmp each: such a row holds only +0, which
 * passes neither test, and most rows of a mask (or of a masked volume) are like that.
 */
export function scanBox(values: ArrayLike<number>, shape: readonly number[], test: BoxTest): { count: number; box: CropBox | undefined } {
  const [D, H, W] = shape;
  if (values.length === 0 || D * H === 0) return { count: 0, box: undefined };
  const bytes = ArrayBuffer.isView(values) ? Buffer.from(values.buffer, values.byteOffset, values.byteLength) : undefined;
  const rowBytes = bytes ? bytes.length / (D * H) : 0;
  const zeros = Buffer.alloc(rowBytes);
  const nonZero = test === 'non-zero';
  let count = 0;
  let z0 = D,
    z1 = -1,
    y0 = H,
    y1 = -1,
    x0 = W,
    x1 = -1;
  for (let z = 0, i = 0, r = 0; z < D; z++) {
    for (let y = 0; y < H; y++, i += W, r += rowBytes) {
      if (bytes && bytes.compare(zeros, 0, rowBytes, r, r + rowBytes) === 0) continue;
      let first = -1;
      let last = -1;
      for (let x = 0; x < W; x++) {
        const v = values[i + x];
        if (nonZero ? v !== 0 : v > 0) {
          count++;
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first >= 0) {
        if (z < z0) z0 = z;
        z1 = z;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (first < x0) x0 = first;
        if (last > x1) x1 = last;
      }
    }
  }
  return {
    count,
    box:
      z1 < 0
        ? undefined
        : [
            [z0, z1 + 1],
            [y0, y1 + 1],
            [x0, x1 + 1],
          ],
  };
}
