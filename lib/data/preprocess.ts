/**
 * The study's preprocessing (reference-study.md section 2), one named, parameterised step per
 * function: mask -> crop -> rescale (scikit-image `rescale` semantics) -> min-max -> pad.
 *
 * Arrays are C-contiguous [D, H, W] buffers (the NIfTI voxel order, 'kji'). The rescale reproduces
 * `skimage.transform.rescale(image, scale)` with every other argument at its default (skimage 0.19
 * to 0.24, SciPy >= 1.6): integer input converted as `img_as_float` does (divide by the type's
 * maximum, signed values floored at -1, float64), float32 kept float32; Gaussian anti-aliasing with
 * sigma = max(0, (1/scale_eff - 1)/2) per axis (`ndi.gaussian_filter`, mode 'mirror', truncate 4);
 * linear `ndi.zoom(order=1, mode='mirror', grid_mode=True)`; clipped to the input's range.
 * @module
 */
import { GEOMETRY_PRESETS, PreprocessSchema, type CropBox, type PreprocessConfig, type PreprocessOptions } from '../config/data.js';
import type { VoxelArray, VoxelDType } from '../io/volume.js';

/** A floating-point working buffer. */
export type RealArray = Float32Array | Float64Array;
/** Shape of a 3-D buffer, [D, H, W]. */
export type Shape3 = [number, number, number];

/** Why a volume was skipped. */
export type SkipCode = 'shape-mismatch' | 'empty-mask' | 'non-finite' | 'constant' | 'outside-crop' | 'read-error';

/** The result of {@link preprocessVolume}: the prepared volume, or why it was skipped. */
export type PreprocessResult = { ok: true; data: Float32Array; shape: Shape3 } | { ok: false; code: SkipCode; reason: string };

/** Resolves preprocessing options against the schema (defaults: the paper's values). */
export function resolvePreprocess(options: PreprocessOptions = {}): PreprocessConfig {
  return PreprocessSchema.parse(options);
}

/**
 * Step 1: `np.where(mask > 0, image, 0)`: the whole tumour (labels 1, 2 and 4) keeps its voxels.
 * @returns a new buffer of the image's type.
 */
export function applyMask<T extends RealArray>(image: T, mask: ArrayLike<number>): T {
  if (image.length !== mask.length) throw new RangeError(`Expected mask to hold ${image.length} voxels like the image but it holds ${mask.length}`);
  const out = new (image.constructor as new (n: number) => T)(image.length);
  for (let i = 0; i < image.length; i++) if (mask[i] > 0) out[i] = image[i];
  return out;
}

/** Step 2: `volume[z0:z1, y0:y1, x0:x1]`. Throws RangeError when the box leaves the volume. */
export function cropVolume<T extends RealArray>(data: T, shape: Shape3, box: CropBox): { data: T; shape: Shape3 } {
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  if (z1 > shape[0] || y1 > shape[1] || x1 > shape[2] || z0 < 0 || y0 < 0 || x0 < 0 || z1 <= z0 || y1 <= y0 || x1 <= x0) {
    throw new RangeError(`Crop box [${box.map(([a, b]) => `${a}:${b}`).join(', ')}] does not fit a volume of shape [${shape.join(', ')}]`);
  }
  const out: Shape3 = [z1 - z0, y1 - y0, x1 - x0];
  const result = new (data.constructor as new (n: number) => T)(out[0] * out[1] * out[2]);
  let o = 0;
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const start = (z * shape[1] + y) * shape[2];
      result.set(data.subarray(start + x0, start + x1), o);
      o += out[2];
    }
  }
  return { data: result, shape: out };
}

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
function mirrorIndex(i: number, n: number): number {
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
 * `scipy.ndimage.gaussian_filter(data, sigma, mode='mirror', truncate=4)`: separable passes over
 * axes 0, 1, 2 (axes with sigma <= 1e-15 skipped), each voxel's sum taken in double in SciPy's
 * order (centre, then the farthest pair first) and stored in the buffer's own precision, as SciPy does.
 * @param sigma Per-axis standard deviation in voxels.
 */
export function gaussianFilter<T extends RealArray>(data: T, shape: Shape3, sigma: readonly number[], truncate = 4): T {
  let current: T = data;
  const [D, H, W] = shape;
  const Ctor = data.constructor as new (n: number) => T;
  // Only the neighbourhood of the non-zero voxels can become non-zero (a masked volume is mostly
  // zeros): each pass computes the positions whose kernel reaches the non-zero box, the rest stay 0,
  // exactly as a full pass would leave them.
  const box = nonZeroBox(data, shape);
  for (let axis = 0; axis < 3; axis++) {
    if (!(sigma[axis] > 1e-15)) continue;
    const w = gaussianKernel(sigma[axis], truncate);
    const r = (w.length - 1) / 2;
    const out = new Ctor(data.length);
    if (!box) {
      current = out;
      continue;
    }
    const n = shape[axis];
    const [lo, hi] = box[axis];
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
    const [[z0, z1], [y0, y1], [x0, x1]] = box;
    if (axis === 2) {
      // rows: copy each into a mirror-extended line of the buffer's own type, as SciPy's line buffers do
      const line = new Ctor(W + 2 * r);
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

/** Inclusive [lo, hi] per axis of the non-zero voxels, or undefined when all are zero. */
function nonZeroBox(data: RealArray, shape: Shape3): Array<[number, number]> | undefined {
  const [D, H, W] = shape;
  const lo = [D, H, W];
  const hi = [-1, -1, -1];
  for (let z = 0, i = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      let first = -1;
      let last = -1;
      for (let x = 0; x < W; x++, i++) {
        if (data[i] !== 0) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first >= 0) {
        if (z < lo[0]) lo[0] = z;
        hi[0] = z;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (first < lo[2]) lo[2] = first;
        if (last > hi[2]) hi[2] = last;
      }
    }
  }
  return hi[0] < 0 ? undefined : [[lo[0], hi[0]], [lo[1], hi[1]], [lo[2], hi[2]]];
}

/**
 * dst[dstAt + i] = src[c + i] * w[r] + sum_{j = r..1} (src[lefts[j] + i] + src[rights[j] + i]) * w[r - j]
 * for i < run, evaluated left to right in double (SciPy's symmetric correlate1d), stored once.
 */
function convolveRun(src: RealArray, dst: RealArray, dstAt: number, c: number, lefts: readonly number[], rights: readonly number[], w: Float64Array, run: number): void {
  // one copy of the hot loop per element type keeps V8's element access monomorphic
  if (src instanceof Float32Array && dst instanceof Float32Array && lefts.length === 3) return convolve5Float32(src, dst, dstAt, c, lefts, rights, w, run);
  if (src instanceof Float64Array && dst instanceof Float64Array && lefts.length === 3) return convolve5Float64(src, dst, dstAt, c, lefts, rights, w, run);
  const r = lefts.length - 1;
  if (r === 2) {
    const [w0, w1, w2] = [w[0], w[1], w[2]];
    const [a2, b2, a1, b1] = [lefts[2], rights[2], lefts[1], rights[1]];
    for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w2 + (src[a2 + i] + src[b2 + i]) * w0 + (src[a1 + i] + src[b1 + i]) * w1;
  } else if (r === 1) {
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

function convolve5Float32(src: Float32Array, dst: Float32Array, dstAt: number, c: number, lefts: readonly number[], rights: readonly number[], w: Float64Array, run: number): void {
  const [w0, w1, w2] = [w[0], w[1], w[2]];
  const [a2, b2, a1, b1] = [lefts[2], rights[2], lefts[1], rights[1]];
  for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w2 + (src[a2 + i] + src[b2 + i]) * w0 + (src[a1 + i] + src[b1 + i]) * w1;
}

function convolve5Float64(src: Float64Array, dst: Float64Array, dstAt: number, c: number, lefts: readonly number[], rights: readonly number[], w: Float64Array, run: number): void {
  const [w0, w1, w2] = [w[0], w[1], w[2]];
  const [a2, b2, a1, b1] = [lefts[2], rights[2], lefts[1], rights[1]];
  for (let i = 0; i < run; i++) dst[dstAt + i] = src[c + i] * w2 + (src[a2 + i] + src[b2 + i]) * w0 + (src[a1 + i] + src[b1 + i]) * w1;
}

function rangeOf(data: RealArray): [number, number] {
  return data instanceof Float32Array ? range32(data) : range64(data);
}
function range32(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
function range64(data: Float64Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Per-axis source index pairs and weights of linear interpolation for `ndi.zoom(grid_mode=True, mode='mirror')`. */
function zoomAxis(n: number, m: number): { i0: Int32Array; i1: Int32Array; t: Float64Array } {
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
 */
export function zoomLinear<T extends RealArray>(data: T, shape: Shape3, outShape: Shape3): T {
  const [, H, W] = shape;
  const [az, ay, ax] = shape.map((n, i) => zoomAxis(n, outShape[i]));
  const out = new (data.constructor as new (n: number) => T)(outShape[0] * outShape[1] * outShape[2]);
  const scaled = (i: Int32Array, stride: number) => Int32Array.from(i, (v) => v * stride);
  trilinear(data, out, scaled(az.i0, H * W), scaled(az.i1, H * W), az.t, scaled(ay.i0, W), scaled(ay.i1, W), ay.t, ax.i0, ax.i1, ax.t);
  return out;
}

/**
 * Where a mask's tumour lies: the number of voxels with label > 0 and their bounding box
 * (half-open, undefined when there are none). Computed once per patient by the pipelines that
 * preprocess several modalities against one mask, and passed to {@link preprocessVolume} as
 * `mask.region`.
 */
export interface MaskRegion {
  inside: number;
  box: CropBox | undefined;
}

/** {@link MaskRegion} of a mask of shape [D, H, W]: one pass over its voxels. */
export function maskRegion(mask: ArrayLike<number>, shape: readonly number[]): MaskRegion {
  const [D, H, W] = shape;
  if (mask.length !== D * H * W) throw new RangeError(`Expected mask to hold ${D * H * W} voxels for shape [${shape.join(', ')}] but it holds ${mask.length}`);
  if (mask.length === 0) return { inside: 0, box: undefined };
  // a row whose bytes are all zero holds no label > 0: a memcmp skips it (most rows of a mask)
  const bytes = ArrayBuffer.isView(mask) ? Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength) : undefined;
  const rowBytes = bytes ? bytes.length / (D * H) : 0;
  const zeros = Buffer.alloc(rowBytes);
  let inside = 0;
  let z0 = D, z1 = -1, y0 = H, y1 = -1, x0 = W, x1 = -1;
  for (let z = 0, i = 0; z < D; z++) {
    for (let y = 0; y < H; y++, i += W) {
      if (bytes && bytes.compare(zeros, 0, rowBytes, i * (rowBytes / W), (i + W) * (rowBytes / W)) === 0) continue;
      let first = -1;
      let last = -1;
      for (let x = 0; x < W; x++) {
        if (mask[i + x] > 0) {
          inside++;
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
  return { inside, box: z1 < 0 ? undefined : [[z0, z1 + 1], [y0, y1 + 1], [x0, x1 + 1]] };
}

/**
 * A volume of shape `full` that is zero outside a box. `data` is laid out over the box `at` +
 * `shape` (the layout), followed by one full row of zeros that stands for any index outside it;
 * values may be non-zero only inside the half-open box [`lo`, `hi`) (the valid box), and every
 * other element of the layout is zero. The preprocessing after masking runs on these, so its cost
 * follows the tumour's size rather than the crop's; every value is the one the dense computation
 * gives (same terms, same order, zeros read as zeros).
 */
interface Sparse<T extends RealArray> {
  full: Shape3;
  at: Shape3;
  shape: Shape3;
  lo: Shape3;
  hi: Shape3;
  data: T;
}

function sparseSize(s: Sparse<RealArray>): number {
  return s.shape[0] * s.shape[1] * s.shape[2];
}

/** Range of the whole volume `s` stands for (its layout's values, and 0 when the layout leaves voxels out). */
function sparseRange(s: Sparse<RealArray>): [number, number] {
  let [lo, hi] = rangeOf(s.data.subarray(0, sparseSize(s)));
  if (s.shape.some((m, i) => m < s.full[i])) {
    if (0 < lo) lo = 0;
    if (0 > hi) hi = 0;
  }
  return [lo, hi];
}

/** The positions along an axis of length n whose Gaussian (radius r, 'mirror') reaches [lo, hi]: [pmin, pmax], as gaussianFilter finds them. */
function reach(lo: number, hi: number, n: number, r: number): [number, number] {
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
 * What {@link rescaleVolume} of a volume of shape `full`, non-zero only in the half-open box
 * [`lo`, `hi`), touches: per axis, the smoothed box (`smooth`), the zoom's output box [kmin, kmax]
 * and its source indices, and the layout that holds them all (`layout`, half-open).
 */
function rescalePlan(full: Shape3, lo: Shape3, hi: Shape3, scale: number, antiAliasing: boolean) {
  const outShape = rescaledShape(full, scale);
  const downscaling = outShape.some((m, i) => m < full[i]);
  const sigma = full.map((n, i) => (antiAliasing && downscaling ? Math.max(0, (n / outShape[i] - 1) / 2) : 0));
  const axes = [0, 1, 2].map((a) => {
    const n = full[a];
    let [s0, s1] = [lo[a], hi[a] - 1];
    const kernel = sigma[a] > 1e-15 ? gaussianKernel(sigma[a]) : undefined;
    if (kernel) [s0, s1] = reach(s0, s1, n, (kernel.length - 1) / 2);
    const z = zoomAxis(n, outShape[a]);
    let kmin = outShape[a];
    let kmax = -1;
    for (let k = 0; k < outShape[a]; k++) {
      if ((z.i0[k] >= s0 && z.i0[k] <= s1) || (z.i1[k] >= s0 && z.i1[k] <= s1)) {
        if (k < kmin) kmin = k;
        kmax = k;
      }
    }
    let l0 = s0;
    let l1 = s1;
    for (let k = kmin; k <= kmax; k++) {
      l0 = Math.min(l0, z.i0[k], z.i1[k]);
      l1 = Math.max(l1, z.i0[k], z.i1[k]);
    }
    return { kernel, smooth: [s0, s1 + 1] as [number, number], zoom: z, kmin, kmax, layout: [l0, l1 + 1] as [number, number] };
  });
  return { outShape, axes };
}

/** One Gaussian pass along `axis` (weights `w`) from `src` into `dst` (same layout; `dst` zero outside `src`'s valid box): `dst`'s valid box grows along `axis` to [pmin, pmax]. */
function sparseGaussianPass<T extends RealArray>(src: Sparse<T>, dst: T, axis: number, w: Float64Array, pmin: number, pmax: number): Sparse<T> {
  const r = (w.length - 1) / 2;
  const n = src.full[axis];
  const [L0, L1, L2] = src.at;
  const [, S1, S2] = src.shape;
  const zero = sparseSize(src); // the zero tail
  const lo = src.lo;
  const hi = src.hi;
  const data = src.data;
  if (axis === 2) {
    // rows: each into a mirror-extended line of the full width, of the buffer's own type, as SciPy's line buffers do
    const W = src.full[2];
    const line = new (data.constructor as new (n: number) => T)(W + 2 * r);
    const lefts = Array.from({ length: r + 1 }, (_, j) => r + pmin - j);
    const rights = Array.from({ length: r + 1 }, (_, j) => r + pmin + j);
    for (let z = lo[0]; z < hi[0]; z++) {
      for (let y = lo[1]; y < hi[1]; y++) {
        const row = ((z - L0) * S1 + (y - L1)) * S2;
        line.fill(0);
        line.set(data.subarray(row, row + S2), r + L2);
        for (let j = 1; j <= r; j++) {
          line[r - j] = line[r + mirrorIndex(-j, W)];
          line[r + W - 1 + j] = line[r + mirrorIndex(W - 1 + j, W)];
        }
        convolveRun(line, dst, row + pmin - L2, r + pmin, lefts, rights, w, pmax - pmin + 1);
      }
    }
  } else {
    // z or y: contiguous runs along x over the valid box; a neighbour outside the layout reads the zero tail
    const lefts = new Array<number>(r + 1).fill(0);
    const rights = new Array<number>(r + 1).fill(0);
    const [La, Sa] = axis === 0 ? [L0, src.shape[0]] : [L1, S1];
    const stride = axis === 0 ? S1 * S2 : S2;
    const offset = (q: number, base: number) => (q >= La && q < La + Sa ? base + (q - La) * stride : zero);
    const [o0, o1, oStride, oAt] = axis === 0 ? [lo[1], hi[1], S2, L1] : [lo[0], hi[0], S1 * S2, L0];
    const run = hi[2] - lo[2];
    for (let o = o0; o < o1; o++) {
      const base = (o - oAt) * oStride + (lo[2] - L2);
      for (let p = pmin; p <= pmax; p++) {
        for (let j = 1; j <= r; j++) {
          lefts[j] = offset(mirrorIndex(p - j, n), base);
          rights[j] = offset(mirrorIndex(p + j, n), base);
        }
        const at = offset(p, base);
        convolveRun(data, dst, at, at, lefts, rights, w, run);
      }
    }
  }
  const nlo = [...lo] as Shape3;
  const nhi = [...hi] as Shape3;
  nlo[axis] = pmin;
  nhi[axis] = pmax + 1;
  return { ...src, lo: nlo, hi: nhi, data: dst };
}

/**
 * {@link rescaleVolume} of the volume `s` stands for, `s` laid out as `rescalePlan` says: the
 * Gaussian passes alternate between `s.data` and one more buffer of the layout (each pass's valid
 * box holds the previous ones, so it overwrites what the buffer held), then the zoom.
 */
function sparseRescale<T extends RealArray>(s: Sparse<T>, plan: ReturnType<typeof rescalePlan>, clip: boolean, [lo, hi]: [number, number] = sparseRange(s)): Sparse<T> {
  let current = s;
  let spare: T | undefined;
  for (let axis = 0; axis < 3; axis++) {
    const a = plan.axes[axis];
    if (!a.kernel) continue;
    spare ??= new (s.data.constructor as new (n: number) => T)(s.data.length);
    const next = sparseGaussianPass(current, spare, axis, a.kernel, a.smooth[0], a.smooth[1] - 1);
    spare = current.data;
    current = next;
  }
  const out = sparseZoom(current, plan);
  if (clip) {
    // zeros outside the box are inside [lo, hi]: the input then had zeros too
    const data = out.data;
    const n = sparseSize(out);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (v < lo) data[i] = lo;
      else if (v > hi) data[i] = hi;
    }
  }
  return out;
}

/** {@link zoomLinear} of the volume `s` stands for, computed where a source neighbour lies in the valid box (`s` holds every source index read). */
function sparseZoom<T extends RealArray>(s: Sparse<T>, plan: ReturnType<typeof rescalePlan>): Sparse<T> {
  const Ctor = s.data.constructor as new (n: number) => T;
  const outShape = plan.outShape;
  // no output reads the box (a narrow box between the samples of a strong downscale): all zeros
  if (plan.axes.some((a) => a.kmax < a.kmin)) return { full: outShape, at: [0, 0, 0], shape: [0, 0, 0], lo: [0, 0, 0], hi: [0, 0, 0], data: new Ctor(outShape[2]) };
  const at = plan.axes.map((a) => a.kmin) as Shape3;
  const shape = plan.axes.map((a) => a.kmax - a.kmin + 1) as Shape3;
  const out = new Ctor(shape[0] * shape[1] * shape[2] + outShape[2]);
  const [, H, W] = s.shape;
  const shift = (a: number, i: Int32Array, stride: number) => {
    const { kmin, kmax } = plan.axes[a];
    return Int32Array.from(i.subarray(kmin, kmax + 1), (v) => (v - s.at[a]) * stride);
  };
  const [az, ay, ax] = plan.axes;
  const z0 = shift(0, az.zoom.i0, H * W);
  const z1 = shift(0, az.zoom.i1, H * W);
  const y0 = shift(1, ay.zoom.i0, W);
  const y1 = shift(1, ay.zoom.i1, W);
  const x0 = shift(2, ax.zoom.i0, 1);
  const x1 = shift(2, ax.zoom.i1, 1);
  const tz = az.zoom.t.subarray(az.kmin, az.kmax + 1);
  const ty = ay.zoom.t.subarray(ay.kmin, ay.kmax + 1);
  const tx = ax.zoom.t.subarray(ax.kmin, ax.kmax + 1);
  trilinear(s.data, out, z0, z1, tz, y0, y1, ty, x0, x1, tx);
  return { full: outShape, at, shape, lo: at, hi: at.map((a, i) => a + shape[i]) as Shape3, data: out };
}

/**
 * The trilinear sum of {@link zoomLinear}: output (z, y, x) is the sum over the 8 neighbours at flat
 * offsets z0|z1[z] + y0|y1[y] + x0|x1[x] of value x w_z x w_y x w_x, in SciPy's order.
 */
function trilinear(data: RealArray, out: RealArray, z0: Int32Array, z1: Int32Array, tzs: Float64Array, y0: Int32Array, y1: Int32Array, tys: Float64Array, x0: Int32Array, x1: Int32Array, txs: Float64Array): void {
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

/** Steps 4-5 on a sparse volume: `(x - min) / (max - min)` into float32, zero-padded to `target`. */
function sparseMinMaxPad(s: Sparse<RealArray>, target: readonly number[] | undefined): { data: Float32Array; shape: Shape3 } | undefined {
  const [lo, hi] = sparseRange(s);
  if (!(hi > lo)) return undefined;
  const k = 1 / (hi - lo);
  const full = s.full;
  if (target && full.some((n, i) => n > target[i])) throw new RangeError(`Cannot pad a volume of shape [${full.join(', ')}] to the smaller [${target.join(', ')}]`);
  const shape = (target ? [target[0], target[1], target[2]] : [...full]) as Shape3;
  const before = shape.map((n, i) => Math.floor((n - full[i]) / 2));
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  const background = (0 - lo) * k; // the value of every voxel outside the box
  const [bz, by, bx] = s.at;
  const [sd, sh, sw] = s.shape;
  const data = s.data;
  for (let z = 0; z < full[0]; z++) {
    for (let y = 0; y < full[1]; y++) {
      const dst = ((z + before[0]) * shape[1] + (y + before[1])) * shape[2] + before[2];
      const inBox = z >= bz && z < bz + sd && y >= by && y < by + sh;
      if (!inBox) {
        if (background !== 0) out.fill(background, dst, dst + full[2]);
        continue;
      }
      if (background !== 0) {
        out.fill(background, dst, dst + bx);
        out.fill(background, dst + bx + sw, dst + full[2]);
      }
      const src = ((z - bz) * sh + (y - by)) * sw;
      for (let x = 0; x < sw; x++) out[dst + bx + x] = (data[src + x] - lo) * k;
    }
  }
  return { data: out, shape };
}

const INT_MAX: Partial<Record<VoxelDType, number>> = { uint8: 255, int8: 127, int16: 32767, uint16: 65535, int32: 2147483647, uint32: 4294967295 };

/**
 * skimage's `img_as_float` (via `convert_to_float(image, preserve_range=False)`) for data whose
 * stored type was `sourceDtype`: integers -> float64 x / max (signed floored at -1); float32 stays
 * float32; float64 stays float64.
 */
export function imgAsFloat(data: RealArray, sourceDtype: VoxelDType): RealArray {
  const max = INT_MAX[sourceDtype];
  if (max !== undefined) {
    const out = new Float64Array(data.length);
    const k = 1 / max;
    const signed = sourceDtype.startsWith('int');
    for (let i = 0; i < data.length; i++) {
      const v = data[i] * k;
      out[i] = signed && v < -1 ? -1 : v;
    }
    return out;
  }
  if (sourceDtype === 'float64') return data instanceof Float64Array ? data : Float64Array.from(data);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export interface RescaleOptions {
  /** Gaussian anti-aliasing before the zoom (skimage: on when downscaling). Default true. */
  antiAliasing?: boolean;
  /** Clip the result to the input's range. Default true. */
  clip?: boolean;
}

/**
 * `skimage.transform.rescale(data, scale)` (order 1, mode 'reflect' = ndimage 'mirror',
 * anti-aliasing with sigma max(0, (n/m - 1)/2) per axis, clip). `data` should already be in the
 * working precision ({@link imgAsFloat}).
 */
export function rescaleVolume<T extends RealArray>(data: T, shape: Shape3, scale: number, options: RescaleOptions = {}): { data: T; shape: Shape3 } {
  const outShape = rescaledShape(shape, scale);
  const [lo, hi] = rangeOf(data);
  const factors = shape.map((n, i) => n / outShape[i]);
  const downscaling = outShape.some((m, i) => m < shape[i]);
  let smoothed = data;
  if ((options.antiAliasing ?? true) && downscaling) {
    smoothed = gaussianFilter(data, shape, factors.map((f) => Math.max(0, (f - 1) / 2)));
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

/** Step 4: `(x - min) / (max - min)` over the whole volume, into float32. Returns undefined for a constant volume. */
export function minMaxScale(data: RealArray): Float32Array | undefined {
  const [lo, hi] = rangeOf(data);
  if (!(hi > lo)) return undefined;
  const out = new Float32Array(data.length);
  const k = 1 / (hi - lo);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - lo) * k;
  return out;
}

/**
 * Step 5: zero-pads to `target`, `d // 2` before and the rest after on each axis (REF's padding).
 * Throws RangeError when the volume is larger than the target on some axis.
 */
export function padTo(data: Float32Array, shape: Shape3, target: readonly number[]): { data: Float32Array; shape: Shape3 } {
  if (shape.some((n, i) => n > target[i])) throw new RangeError(`Cannot pad a volume of shape [${shape.join(', ')}] to the smaller [${target.join(', ')}]`);
  if (shape.every((n, i) => n === target[i])) return { data, shape };
  const before = shape.map((n, i) => Math.floor((target[i] - n) / 2));
  const out = new Float32Array(target[0] * target[1] * target[2]);
  for (let z = 0; z < shape[0]; z++) {
    for (let y = 0; y < shape[1]; y++) {
      const src = (z * shape[1] + y) * shape[2];
      const dst = ((z + before[0]) * target[1] + (y + before[1])) * target[2] + before[2];
      out.set(data.subarray(src, src + shape[2]), dst);
    }
  }
  return { data: out, shape: [target[0], target[1], target[2]] };
}

/** The crop box of a preset name or explicit box ('tumour' must be resolved first with {@link tumourBox}). */
export function presetCropBox(crop: PreprocessConfig['crop']): CropBox {
  if (crop === 'tumour') throw new RangeError("crop 'tumour' depends on the cohort; compute it with cohortCropBox() and pass the box");
  if (typeof crop === 'string') return GEOMETRY_PRESETS[crop].crop.map(([a, b]) => [a, b]) as CropBox;
  return crop;
}

/** Bounding box of `mask > 0` as a half-open crop box, or undefined for an empty mask. */
export function tumourBox(mask: ArrayLike<number>, shape: Shape3): CropBox | undefined {
  const [D, H, W] = shape;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  let i = 0;
  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++, i++) {
        if (mask[i] > 0) {
          if (z < lo[0]) lo[0] = z;
          if (z > hi[0]) hi[0] = z;
          if (y < lo[1]) lo[1] = y;
          if (y > hi[1]) hi[1] = y;
          if (x < lo[2]) lo[2] = x;
          if (x > hi[2]) hi[2] = x;
        }
      }
    }
  }
  if (hi[0] < 0) return undefined;
  return [
    [lo[0], hi[0] + 1],
    [lo[1], hi[1] + 1],
    [lo[2], hi[2] + 1],
  ];
}

/** Union of boxes, widened by `margin` and clipped to `shape`. */
export function unionBox(boxes: readonly CropBox[], shape: Shape3, margin = 0): CropBox | undefined {
  if (boxes.length === 0) return undefined;
  return [0, 1, 2].map((a) => [Math.max(0, Math.min(...boxes.map((b) => b[a][0])) - margin), Math.min(shape[a], Math.max(...boxes.map((b) => b[a][1])) + margin)]) as CropBox;
}

/** The shape {@link preprocessVolume} produces for a crop box and config (before any skip). */
export function preparedShape(box: CropBox, config: Pick<PreprocessConfig, 'scale' | 'padTo'>): Shape3 {
  const cropped = box.map(([a, b]) => b - a);
  const scaled = rescaledShape(cropped, config.scale);
  if (config.padTo && scaled.some((n, i) => n > config.padTo![i])) {
    throw new RangeError(`padTo [${config.padTo.join(', ')}] is smaller than the rescaled crop [${scaled.join(', ')}]; raise padTo or shrink the crop box`);
  }
  return config.padTo ? [...config.padTo] : scaled;
}

/**
 * Steps 1-2 and skimage's float conversion in one pass over the crop box only: equal to
 * `imgAsFloat(cropVolume(applyMask(image, mask)), sourceDtype)` (or, with intensity 'raw', the
 * values as float64, float32 kept), without a full-size intermediate.
 */
export function maskCropConvert(image: PreprocessInput, mask: ArrayLike<number>, box: CropBox, intensity: PreprocessConfig['intensity'] = 'img_as_float'): { data: RealArray; shape: Shape3 } {
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  const shape = image.shape;
  if (z1 > shape[0] || y1 > shape[1] || x1 > shape[2] || z0 < 0 || y0 < 0 || x0 < 0 || z1 <= z0 || y1 <= y0 || x1 <= x0) {
    throw new RangeError(`Crop box [${box.map(([a, b]) => `${a}:${b}`).join(', ')}] does not fit a volume of shape [${shape.join(', ')}]`);
  }
  return maskConvertBox(image, mask, box, intensity);
}

/**
 * {@link maskCropConvert}'s values inside `box` (which fits the volume), into an array laid out
 * over the box `at` + `layout` (volume coordinates; default: `box` itself, which it must hold),
 * zero elsewhere, with `tail` zeros after it.
 */
function maskConvertBox(image: PreprocessInput, mask: ArrayLike<number>, box: CropBox, intensity: PreprocessConfig['intensity'], at?: Shape3, layout?: Shape3, tail = 0): { data: RealArray; shape: Shape3 } {
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  const shape = image.shape;
  const out: Shape3 = layout ?? [z1 - z0, y1 - y0, x1 - x0];
  const [a0, a1, a2] = at ?? [z0, y0, x0];
  const slope = image.slope ?? 1;
  const inter = image.inter ?? 0;
  const scaled = slope !== 1 || inter !== 0;
  const sourceDtype = scaled ? 'float32' : image.sourceDtype;
  const max = intensity === 'img_as_float' ? INT_MAX[sourceDtype] : undefined;
  const keep32 = sourceDtype === 'float32'; // skimage keeps float32 as float32; everything else becomes float64
  const size = out[0] * out[1] * out[2] + tail;
  const result: RealArray = keep32 ? new Float32Array(size) : new Float64Array(size);
  const k = max === undefined ? 1 : 1 / max;
  const signed = max !== undefined && sourceDtype.startsWith('int');
  const src = image.data;
  // the common type pairs get a row loop of their own (monomorphic element access)
  const row =
    scaled
      ? src instanceof Int16Array && result instanceof Float32Array && mask instanceof Uint8Array ? scaledRowI16 : scaledRowAny
      : src instanceof Int16Array && result instanceof Float64Array && mask instanceof Uint8Array ? convertRowI16
        : src instanceof Float32Array && result instanceof Float32Array && mask instanceof Uint8Array ? convertRowF32
          : convertRowAny;
  const [a, b] = scaled ? [slope, inter] : [k, signed ? -1 : -Infinity];
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const at = (z * shape[1] + y) * shape[2];
      (row as RowKernel<ArrayLike<number>, RealArray, ArrayLike<number>>)(src, mask, result, at + x0, at + x1, ((z - a0) * out[1] + (y - a1)) * out[2] + (x0 - a2), a, b);
    }
  }
  return { data: result, shape: out };
}

/** One row of {@link maskConvertBox}: scaled, out[o] = fround(src * a + b); else out[o] = max(src * a, b) (b = -1 for signed img_as_float, else -Infinity). */
type RowKernel<S, R, M> = (src: S, mask: M, out: R, from: number, to: number, o: number, a: number, b: number) => void;
const scaledRowI16: RowKernel<Int16Array, Float32Array, Uint8Array> = (src, mask, out, from, to, o, a, b) => {
  for (let x = from; x < to; x++, o++) if (mask[x] > 0) out[o] = Math.fround(src[x] * a + b);
};
const scaledRowAny: RowKernel<ArrayLike<number>, RealArray, ArrayLike<number>> = (src, mask, out, from, to, o, a, b) => {
  for (let x = from; x < to; x++, o++) if (mask[x] > 0) out[o] = Math.fround(src[x] * a + b);
};
const convertRowI16: RowKernel<Int16Array, Float64Array, Uint8Array> = (src, mask, out, from, to, o, a, b) => {
  for (let x = from; x < to; x++, o++) {
    if (mask[x] > 0) {
      const v = src[x] * a;
      out[o] = v < b ? b : v;
    }
  }
};
const convertRowF32: RowKernel<Float32Array, Float32Array, Uint8Array> = (src, mask, out, from, to, o, a, b) => {
  for (let x = from; x < to; x++, o++) {
    if (mask[x] > 0) {
      const v = src[x] * a;
      out[o] = v < b ? b : v;
    }
  }
};
const convertRowAny: RowKernel<ArrayLike<number>, RealArray, ArrayLike<number>> = (src, mask, out, from, to, o, a, b) => {
  for (let x = from; x < to; x++, o++) {
    if (mask[x] > 0) {
      const v = src[x] * a;
      out[o] = v < b ? b : v;
    }
  }
};

/** What {@link preprocessVolume} needs to know about the image. */
export interface PreprocessInput {
  /** Voxels: float32 from readNifti, or the stored array from readNiftiRaw (with slope/inter). */
  data: VoxelArray;
  shape: Shape3;
  /** scl_slope / scl_inter still to apply to `data` (readNiftiRaw); values then round to float32, as readNifti's do. */
  slope?: number;
  inter?: number;
  /** The stored voxel type, for the img_as_float conversion; 'float32' when scl_slope/inter applied (SimpleITK then reads float). */
  sourceDtype: VoxelDType;
}

/**
 * The whole pipeline for one modality of one patient: mask -> crop -> rescale -> min-max -> pad.
 * Never throws for bad data: returns `{ ok: false, code, reason }` for a shape mismatch with the
 * mask, an empty mask, NaN/Inf voxels inside the mask, a tumour outside the crop box, or a
 * constant result.
 *
 * @param image Voxels as stored ('kji', [D, H, W]).
 * The work after masking follows the tumour's bounding box, not the crop's size.
 *
 * @param image Voxels as stored ('kji', [D, H, W]).
 * @param mask Segmentation labels, same shape (label > 0 = tumour), with its {@link maskRegion} when
 *   the caller has it (preprocessing several modalities against one mask: computed once, not per call).
 * @param box The crop box (see {@link presetCropBox}).
 */
export function preprocessVolume(image: PreprocessInput, mask: { data: ArrayLike<number>; shape: readonly number[]; region?: MaskRegion }, box: CropBox, config: PreprocessConfig): PreprocessResult {
  if (image.shape.length !== 3 || mask.shape.some((n, i) => n !== image.shape[i]) || mask.data.length !== image.data.length) {
    return { ok: false, code: 'shape-mismatch', reason: `image shape [${image.shape.join(', ')}] differs from mask shape [${mask.shape.join(', ')}]` };
  }
  if (box.some(([, end], i) => end > image.shape[i])) {
    return { ok: false, code: 'shape-mismatch', reason: `crop box [${box.map(([a, b]) => `${a}:${b}`).join(', ')}] exceeds the volume shape [${image.shape.join(', ')}]` };
  }
  const region = mask.region ?? maskRegion(mask.data, image.shape);
  if (region.inside === 0 || !region.box) return { ok: false, code: 'empty-mask', reason: 'the tumour mask is empty (no label > 0)' };
  const bad = nonFiniteInside(image.data, mask.data, image.shape, region.box);
  if (bad > 0) return { ok: false, code: 'non-finite', reason: `${bad} NaN/Inf voxel(s) inside the tumour mask` };

  // Everything outside the tumour's box is zero once masked: the rest runs on that box (and the
  // neighbourhood the filters reach), giving exactly the values of the whole-crop computation.
  const crop = box.map(([a, b]) => b - a) as Shape3;
  const inner = box.map(([a, b], i) => [Math.max(a, region.box![i][0]), Math.min(b, region.box![i][1])]) as CropBox;
  if (inner.some(([a, b]) => b <= a)) return { ok: false, code: 'outside-crop', reason: 'no non-zero tumour voxel inside the crop box' };
  const lo = inner.map(([a], i) => a - box[i][0]) as Shape3; // in the crop
  const hi = inner.map(([, b], i) => b - box[i][0]) as Shape3;
  const plan = config.scale === 1 ? undefined : rescalePlan(crop, lo, hi, config.scale, config.antiAliasing ?? true);
  const layout = plan ? (plan.axes.map((a) => a.layout) as CropBox) : lo.map((a, i) => [a, hi[i]] as [number, number]);
  const cropped = maskConvertBox(image, mask.data, inner, config.intensity, layout.map(([a], i) => a + box[i][0]) as Shape3, layout.map(([a, b]) => b - a) as Shape3, crop[2]);
  const sparse: Sparse<RealArray> = { full: crop, at: layout.map(([a]) => a) as Shape3, shape: cropped.shape, lo, hi, data: cropped.data };
  const range = sparseRange(sparse);
  const any = range[0] !== 0 || range[1] !== 0; // asked before the rescale reuses the buffer
  const scaled = plan ? sparseRescale(sparse, plan, true, range) : sparse;
  const prepared = sparseMinMaxPad(scaled, config.padTo ?? undefined);
  if (!prepared) {
    return any
      ? { ok: false, code: 'constant', reason: 'the masked, cropped, rescaled volume is constant (max = min)' }
      : { ok: false, code: 'outside-crop', reason: 'no non-zero tumour voxel inside the crop box' };
  }
  return { ok: true, data: prepared.data, shape: prepared.shape };
}

/** Voxels with label > 0 whose value is NaN or +-Infinity (0 for integer sources), looked for inside `box` only. */
function nonFiniteInside(data: VoxelArray, mask: ArrayLike<number>, shape: Shape3, box: CropBox): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return 0;
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  let bad = 0;
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const row = (z * shape[1] + y) * shape[2];
      // v - v is NaN exactly for NaN and +-Infinity
      for (let i = row + x0; i < row + x1; i++) if (mask[i] > 0 && data[i] - data[i] !== 0) bad++;
    }
  }
  return bad;
}

/** Re-export for callers that build configs by hand. */
export type { PreprocessConfig, PreprocessOptions, CropBox };
