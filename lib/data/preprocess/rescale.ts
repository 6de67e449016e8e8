/**
 * `skimage.transform.rescale(image, scale)` reproduced exactly (docs/study.md section 2), with
 * every other argument at its default (skimage 0.19 to 0.24, SciPy >= 1.6): Gaussian anti-aliasing
 * with sigma = max(0, (1/scale_eff - 1)/2) per axis (`ndi.gaussian_filter`, mode 'mirror',
 * truncate 4); linear `ndi.zoom(order=1, mode='mirror', grid_mode=True)`; clipped to the input's
 * range. Values equal SciPy's bit for bit: each sum is taken in double in SciPy's order and stored
 * in the buffer's own precision (float32 stays float32, as in scikit-image).
 *
 * The pieces the tumour-box fast path (tumour-box.ts) shares are exported for it: the mirror
 * boundary, the Gaussian's reach, one run of the 1-D correlation, the zoom's sample table and the
 * trilinear sum.
 * @module
 */
import { scanBox } from './bounding-box.js';
import { allocLike, type RealArray, type Shape3 } from './types.js';

/** NumPy's `round` (half to even), as `skimage.transform.rescale` uses for the output shape. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The shape `skimage.transform.rescale(image, scale)` returns: max(1, round_half_even(scale * n)). */
export function rescaledShape(shape: readonly number[], scale: number | readonly number[]): Shape3 {
  const s = typeof scale === 'number' ? [scale, scale, scale] : scale;
  return shape.map((n, i) => Math.max(1, roundHalfEven(s[i] * n))) as Shape3;
}

/** SciPy's 'mirror' boundary: reflect about the edge voxels' centres (d c b | a b c d | c b a). */
export function mirrorIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

/** `scipy.ndimage._filters._gaussian_kernel1d(sigma, 0, radius)`, with radius = int(truncate * sigma + 0.5). */
export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const sigma2 = sigma * sigma;
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let x = -radius; x <= radius; x++) {
    k[x + radius] = Math.exp((-0.5 / sigma2) * (x * x));
    sum += k[x + radius];
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * The positions along an axis of length n whose Gaussian (radius r, 'mirror') reads some index in
 * the inclusive [lo, hi]: [pmin, pmax]. Everywhere else a pass over data that is zero outside
 * [lo, hi] leaves zero.
 */
export function reach(lo: number, hi: number, n: number, r: number): [number, number] {
  let pmin = n;
  let pmax = -1;
  for (let p = 0; p < n; p++) {
    let reaches = p >= lo && p <= hi;
    for (let j = 1; j <= r && !reaches; j++) {
      const a = mirrorIndex(p - j, n);
      const b = mirrorIndex(p + j, n);
      reaches = (a >= lo && a <= hi) || (b >= lo && b <= hi);
    }
    if (reaches) {
      if (p < pmin) pmin = p;
      pmax = p;
    }
  }
  return [pmin, pmax];
}

/**
 * `scipy.ndimage.gaussian_filter(data, sigma, mode='mirror', truncate=4)`: separable passes over
 * axes 0, 1, 2 (axes with sigma <= 1e-15 skipped), each voxel's sum taken in double in SciPy's
 * order (centre, then the farthest pair first) and stored in the buffer's own precision, as SciPy does.
 * @param data C-order [D, H, W] values.
 * @param shape [D, H, W] of `data`.
 * @param sigma Per-axis standard deviation in voxels.
 * @returns a new buffer of `data`'s type.
 */
export function gaussianFilter<T extends RealArray>(data: T, shape: Shape3, sigma: readonly number[], truncate = 4): T {
  let current: T = data;
  const [, H, W] = shape;
  // Only the neighbourhood of the non-zero voxels can become non-zero (a masked volume is mostly
  // zeros): each pass computes the positions whose kernel reaches the non-zero box, the rest stay 0,
  // exactly as a full pass would leave them.
  const found = scanBox(data, shape, 'non-zero').box;
  const box = found?.map(([a, b]) => [a, b - 1]); // inclusive
  for (let axis = 0; axis < 3; axis++) {
    if (!(sigma[axis] > 1e-15)) continue;
    const w = gaussianKernel(sigma[axis], truncate);
    const r = (w.length - 1) / 2;
    const out = allocLike(data, data.length);
    if (!box) {
      current = out;
      continue;
    }
    const n = shape[axis];
    const [pmin, pmax] = reach(box[axis][0], box[axis][1], n, r);
    const [[z0, z1], [y0, y1], [x0, x1]] = box;
    if (axis === 2) {
      // rows: copy each into a mirror-extended line of the buffer's own type, as SciPy's line buffers do
      const line = allocLike(data, W + 2 * r);
      const lefts = Array.from({ length: r + 1 }, (_, j) => r + pmin - j);
      const rights = Array.from({ length: r + 1 }, (_, j) => r + pmin + j);
      for (let z = z0; z <= z1; z++) {
        for (let y = y0; y <= y1; y++) {
          const base = (z * H + y) * W;
          for (let p = 0; p < W; p++) line[p + r] = current[base + p];
          for (let j = 1; j <= r; j++) {
            line[r - j] = current[base + mirrorIndex(-j, W)];
            line[r + W - 1 + j] = current[base + mirrorIndex(W - 1 + j, W)];
          }
          convolveRun(line, out, base + pmin, r + pmin, lefts, rights, w, pmax - pmin + 1);
        }
      }
    } else {
      // z or y: contiguous runs along x inside the box
      const stride = axis === 0 ? H * W : W;
      const lefts = new Array<number>(r + 1).fill(0);
      const rights = new Array<number>(r + 1).fill(0);
      const run = x1 - x0 + 1;
      // (outer, inner) loops over the axes other than `axis` and x
      const [oLo, oHi, oStride] = axis === 0 ? [y0, y1, W] : [z0, z1, H * W];
      for (let q = oLo; q <= oHi; q++) {
        const base = q * oStride + x0;
        for (let p = pmin; p <= pmax; p++) {
          for (let j = 1; j <= r; j++) {
            lefts[j] = base + mirrorIndex(p - j, n) * stride;
            rights[j] = base + mirrorIndex(p + j, n) * stride;
          }
          const at = base + p * stride;
          convolveRun(current, out, at, at, lefts, rights, w, run);
        }
      }
    }
    box[axis] = [pmin, pmax];
    current = out;
  }
  return current === data ? (data.slice() as T) : current;
}

/**
 * dst[dstAt + i] = src[c + i] * w[r] + sum_{j = r..1} (src[lefts[j] + i] + src[rights[j] + i]) * w[r - j]
 * for i < run, evaluated left to right in double (SciPy's symmetric correlate1d), stored once.
 * `src` and `dst` have the same element type.
 */
export function convolveRun(
  src: RealArray,
  dst: RealArray,
  dstAt: number,
  c: number,
  lefts: readonly number[],
  rights: readonly number[],
  w: Float64Array,
  run: number,
): void {
  // The 5-tap loop (sigma 0.5: the study's rescale by 0.5) has one copy per element type, so V8's
  // element access stays monomorphic across a cohort's mixed float64 (from int16) and float32
  // volumes: one shared loop cost 1.11x the CPU time over a crop-sized mask
  // (bench/results/2026-12-04-preprocess-kernel-twins-cpu2.json). The other radii are rare.
  if (src instanceof Float32Array && dst instanceof Float32Array && lefts.length === 3)
    return convolve5Float32(src, dst, dstAt, c, lefts, rights, w, run);
  if (src instanceof Float64Array && dst instanceof Float64Array && lefts.length === 3)
    return convolve5Float64(src, dst, dstAt, c, lefts, rights, w, run);
  const r = lefts.length - 1;
  if (r === 1) {
    const [w0, w1] = [w[0], w[1]];
    const [a1, b1] = [lefts[1], rights[1]];
    for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w1 + (src[a1 + i] + src[b1 + i]) * w0;
  } else if (r === 0) {
    const w0 = w[0];
    for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w0;
  } else {
    for (let i = 0; i < run; i++) {
      let acc = src[c + i] * w[r];
      for (let j = r; j >= 1; j--) acc += (src[lefts[j] + i] + src[rights[j] + i]) * w[r - j];
      dst[dstAt + i] = acc;
    }
  }
}

function convolve5Float32(
  src: Float32Array,
  dst: Float32Array,
  dstAt: number,
  c: number,
  lefts: readonly number[],
  rights: readonly number[],
  w: Float64Array,
  run: number,
): void {
  const [w0, w1, w2] = [w[0], w[1], w[2]];
  const [a2, b2, a1, b1] = [lefts[2], rights[2], lefts[1], rights[1]];
  for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w2 + (src[a2 + i] + src[b2 + i]) * w0 + (src[a1 + i] + src[b1 + i]) * w1;
}

function convolve5Float64(
  src: Float64Array,
  dst: Float64Array,
  dstAt: number,
  c: number,
  lefts: readonly number[],
  rights: readonly number[],
  w: Float64Array,
  run: number,
): void {
  const [w0, w1, w2] = [w[0], w[1], w[2]];
  const [a2, b2, a1, b1] = [lefts[2], rights[2], lefts[1], rights[1]];
  for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w2 + (src[a2 + i] + src[b2 + i]) * w0 + (src[a1 + i] + src[b1 + i]) * w1;
}

/** [min, max] of the values (Infinity, -Infinity when empty). One loop for both types: per-type copies measured no faster (bench/results/2026-12-04-preprocess-kernel-twins-cpu2.json). */
export function rangeOf(data: RealArray): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Per-axis source index pairs and weights of linear interpolation for `ndi.zoom(grid_mode=True, mode='mirror')`, n samples to m. */
export function zoomAxis(n: number, m: number): { i0: Int32Array; i1: Int32Array; t: Float64Array } {
  const zoom = n / m;
  const i0 = new Int32Array(m);
  const i1 = new Int32Array(m);
  const t = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let cc = (k + 0.5) * zoom - 0.5;
    // scipy map_coordinate, NI_EXTEND_MIRROR
    if (cc < 0) {
      if (n <= 1) cc = 0;
      else {
        const sz2 = 2 * n - 2;
        cc = sz2 * Math.trunc(-cc / sz2) + cc;
        cc = cc <= 1 - n ? cc + sz2 : -cc;
      }
    } else if (cc > n - 1) {
      if (n <= 1) cc = 0;
      else {
        const sz2 = 2 * n - 2;
        cc -= sz2 * Math.trunc(cc / sz2);
        if (cc >= n) cc = sz2 - cc;
      }
    }
    const f = Math.floor(cc);
    i0[k] = mirrorIndex(f, n);
    i1[k] = mirrorIndex(f + 1, n);
    t[k] = cc - f;
  }
  return { i0, i1, t };
}

/**
 * `scipy.ndimage.zoom(data, zoom, order=1, mode='mirror', grid_mode=True)` to `outShape`:
 * trilinear, each output the sum over the 8 neighbours of value x w_z x w_y x w_x in SciPy's order.
 * @returns a new buffer of `data`'s type, of shape `outShape`.
 */
export function zoomLinear<T extends RealArray>(data: T, shape: Shape3, outShape: Shape3): T {
  const [, H, W] = shape;
  const [az, ay, ax] = shape.map((n, i) => zoomAxis(n, outShape[i]));
  const out = allocLike(data, outShape[0] * outShape[1] * outShape[2]);
  const scaled = (i: Int32Array, stride: number) => Int32Array.from(i, (v) => v * stride);
  trilinear(data, out, scaled(az.i0, H * W), scaled(az.i1, H * W), az.t, scaled(ay.i0, W), scaled(ay.i1, W), ay.t, ax.i0, ax.i1, ax.t);
  return out;
}

/**
 * The trilinear sum of {@link zoomLinear}: output (z, y, x) is the sum over the 8 neighbours at flat
 * offsets z0|z1[z] + y0|y1[y] + x0|x1[x] of value x w_z x w_y x w_x, in SciPy's order.
 */
export function trilinear(
  data: RealArray,
  out: RealArray,
  z0: Int32Array,
  z1: Int32Array,
  tzs: Float64Array,
  y0: Int32Array,
  y1: Int32Array,
  tys: Float64Array,
  x0: Int32Array,
  x1: Int32Array,
  txs: Float64Array,
): void {
  let o = 0;
  for (let z = 0; z < z0.length; z++) {
    const za = z0[z];
    const zb = z1[z];
    const tz = tzs[z];
    const wz0 = 1 - tz;
    for (let y = 0; y < y0.length; y++) {
      const ya = y0[y];
      const yb = y1[y];
      const ty = tys[y];
      const wy0 = 1 - ty;
      for (let x = 0; x < x0.length; x++, o++) {
        const xa = x0[x];
        const xb = x1[x];
        const tx = txs[x];
        const wx0 = 1 - tx;
        let acc = data[za + ya + xa] * wz0 * wy0 * wx0;
        acc += data[za + ya + xb] * wz0 * wy0 * tx;
        acc += data[za + yb + xa] * wz0 * ty * wx0;
        acc += data[za + yb + xb] * wz0 * ty * tx;
        acc += data[zb + ya + xa] * tz * wy0 * wx0;
        acc += data[zb + ya + xb] * tz * wy0 * tx;
        acc += data[zb + yb + xa] * tz * ty * wx0;
        acc += data[zb + yb + xb] * tz * ty * tx;
        out[o] = acc;
      }
    }
  }
}

/** Options of {@link rescaleVolume}. */
export interface RescaleOptions {
  /** Gaussian anti-aliasing before the zoom (skimage: on when downscaling). Default true. */
  antiAliasing?: boolean;
  /** Clip the result to the input's range. Default true. */
  clip?: boolean;
}

/**
 * `skimage.transform.rescale(data, scale)` (order 1, mode 'reflect' = ndimage 'mirror',
 * anti-aliasing with sigma max(0, (n/m - 1)/2) per axis, clip). `data` should already be in the
 * working precision (`imgAsFloat`).
 * @param data C-order [D, H, W] values.
 * @param shape [D, H, W] of `data`.
 * @param scale The same factor on every axis (the study's 0.5).
 * @returns a new buffer of `data`'s type, of shape {@link rescaledShape}(shape, scale).
 */
export function rescaleVolume<T extends RealArray>(
  data: T,
  shape: Shape3,
  scale: number,
  options: RescaleOptions = {},
): { data: T; shape: Shape3 } {
  const outShape = rescaledShape(shape, scale);
  const [lo, hi] = rangeOf(data);
  const factors = shape.map((n, i) => n / outShape[i]);
  const downscaling = outShape.some((m, i) => m < shape[i]);
  let smoothed = data;
  if ((options.antiAliasing ?? true) && downscaling) {
    smoothed = gaussianFilter(
      data,
      shape,
      factors.map((f) => Math.max(0, (f - 1) / 2)),
    );
  }
  const out = zoomLinear(smoothed, shape, outShape);
  if (options.clip ?? true) {
    for (let i = 0; i < out.length; i++) {
      const v = out[i];
      if (v < lo) out[i] = lo;
      else if (v > hi) out[i] = hi;
    }
  }
  return { data: out, shape: outShape };
}
