/**
 * The tumour-box fast path (docs/study.md section 2): after masking, everything outside the
 * tumour's bounding box is zero, so the rescale and min-max run on that box (and the neighbourhood
 * the filters reach) rather than on the whole crop. Every value equals the dense computation's
 * (rescale.ts, steps.ts): the same terms in the same order, zeros read as zeros. Internal to
 * `preprocessVolume`.
 * @module
 */
import { convolveRun, gaussianKernel, mirrorIndex, rangeOf, reach, rescaledShape, trilinear, zoomAxis } from './rescale.js';
import { allocLike, type RealArray, type Shape3 } from './types.js';

/**
 * A volume of shape `full` that is zero outside a box. `data` is laid out over the box `at` +
 * `shape` (the layout), followed by one full row of zeros that stands for any index outside it;
 * values may be non-zero only inside the half-open box [`lo`, `hi`) (the valid box), and every
 * other element of the layout is zero. The preprocessing after masking runs on these, so its cost
 * follows the tumour's size rather than the crop's; every value is the one the dense computation
 * gives (same terms, same order, zeros read as zeros).
 */
export interface Sparse<T extends RealArray> {
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
export function sparseRange(s: Sparse<RealArray>): [number, number] {
  let [lo, hi] = rangeOf(s.data.subarray(0, sparseSize(s)));
  if (s.shape.some((m, i) => m < s.full[i])) {
    if (0 < lo) lo = 0;
    if (0 > hi) hi = 0;
  }
  return [lo, hi];
}

/** What {@link rescalePlan} returns: the rescaled shape and, per axis, what the rescale touches. */
export type RescalePlan = ReturnType<typeof rescalePlan>;

/**
 * What `rescaleVolume` of a volume of shape `full`, non-zero only in the half-open box
 * [`lo`, `hi`), touches: per axis, the smoothed box (`smooth`), the zoom's output box [kmin, kmax]
 * and its source indices, and the layout that holds them all (`layout`, half-open).
 */
export function rescalePlan(full: Shape3, lo: Shape3, hi: Shape3, scale: number, antiAliasing: boolean) {
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
function sparseGaussianPass<T extends RealArray>(
  src: Sparse<T>,
  dst: T,
  axis: number,
  w: Float64Array,
  pmin: number,
  pmax: number,
): Sparse<T> {
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
    const line = allocLike(data, W + 2 * r);
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
 * `rescaleVolume` of the volume `s` stands for, `s` laid out as {@link rescalePlan} says: the
 * Gaussian passes alternate between `s.data` and one more buffer of the layout (each pass's valid
 * box holds the previous ones, so it overwrites what the buffer held), then the zoom.
 */
export function sparseRescale<T extends RealArray>(
  s: Sparse<T>,
  plan: RescalePlan,
  clip: boolean,
  [lo, hi]: [number, number] = sparseRange(s),
): Sparse<T> {
  let current = s;
  let spare: T | undefined;
  for (let axis = 0; axis < 3; axis++) {
    const a = plan.axes[axis];
    if (!a.kernel) continue;
    spare ??= allocLike(s.data, s.data.length);
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

/** `zoomLinear` of the volume `s` stands for, computed where a source neighbour lies in the valid box (`s` holds every source index read). */
function sparseZoom<T extends RealArray>(s: Sparse<T>, plan: RescalePlan): Sparse<T> {
  const outShape = plan.outShape;
  // no output reads the box (a narrow box between the samples of a strong downscale): all zeros
  if (plan.axes.some((a) => a.kmax < a.kmin))
    return { full: outShape, at: [0, 0, 0], shape: [0, 0, 0], lo: [0, 0, 0], hi: [0, 0, 0], data: allocLike(s.data, outShape[2]) };
  const at = plan.axes.map((a) => a.kmin) as Shape3;
  const shape = plan.axes.map((a) => a.kmax - a.kmin + 1) as Shape3;
  const out = allocLike(s.data, shape[0] * shape[1] * shape[2] + outShape[2]);
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

/** Steps 4-5 on a sparse volume: `(x - min) / (max - min)` into float32, zero-padded to `target`; undefined for a constant volume. */
export function sparseMinMaxPad(
  s: Sparse<RealArray>,
  target: readonly number[] | undefined,
): { data: Float32Array; shape: Shape3 } | undefined {
  const [lo, hi] = sparseRange(s);
  if (!(hi > lo)) return undefined;
  const k = 1 / (hi - lo);
  const full = s.full;
  if (target && full.some((n, i) => n > target[i]))
    throw new RangeError(`Cannot pad a volume of shape [${full.join(', ')}] to the smaller [${target.join(', ')}]`);
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
