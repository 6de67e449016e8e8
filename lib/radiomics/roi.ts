/**
 * The region of interest and its discretisation, as PyRadiomics prepares them before any feature
 * class: label selection, the bounding box, and fixed-bin-width (or fixed-bin-count) gray levels.
 * @module
 */
import { checkShape, describeValue } from '../util/validate.js';

/** Any numeric array: a TypedArray (what the NIfTI reader returns) or a plain array. */
export type NumericArray = ArrayLike<number>;

/**
 * A 3D scalar volume. `data` is C-contiguous in `shape` = [D, H, W] (W fastest, the NIfTI
 * voxel order of a [W, H, D] image). `spacing` is the voxel size in mm along [D, H, W] (TotalEnergy
 * and GLCM distance weights).
 */
export interface RadiomicsVolume {
  data: NumericArray;
  shape: readonly number[];
  spacing?: readonly number[];
}

/** Raised when a region cannot give features: an empty mask, or too few voxels for a class. */
export class RadiomicsError extends Error {
  /** `ERR_EMPTY_ROI` (no voxel has the label) or `ERR_NO_NEIGHBOURS` (no two ROI voxels touch). */
  readonly code: 'ERR_EMPTY_ROI' | 'ERR_NO_NEIGHBOURS';
  constructor(code: RadiomicsError['code'], message: string) {
    super(message);
    this.name = 'RadiomicsError';
    this.code = code;
  }
}

/** The ROI cropped to its bounding box. */
export interface Roi {
  /** Bounding-box shape [d, h, w]. */
  shape: [number, number, number];
  /** Bounding-box start [z0, y0, x0] in the full volume. */
  origin: [number, number, number];
  /** 1 where the voxel is in the ROI, over the bounding box, C-contiguous. */
  inRoi: Uint8Array;
  /** Intensities over the bounding box (0 outside the ROI). */
  values: Float64Array;
  /** Intensities of the ROI voxels, in memory order. */
  roiValues: Float64Array;
  /** Voxel volume in mm³ (product of spacing; 1 when the image has no spacing). */
  voxelVolume: number;
}

/** Gray levels of the ROI after discretisation. */
export interface Discretised {
  /** Bin number (1-based) per bounding-box voxel, 0 outside the ROI. */
  bins: Int32Array;
  /** The levels present in the ROI, ascending. */
  grayLevels: Int32Array;
  /** Highest level present (PyRadiomics's `Ng`). */
  maxLevel: number;
  /** Bin edges used (numpy.digitize semantics). */
  edges: Float64Array;
}

/** Where a region lies in its mask: the bounding box and the membership flags inside it. */
export interface RegionMask {
  /** Shape of the full mask [D, H, W]. */
  volumeShape: [number, number, number];
  /** Bounding-box shape [d, h, w]. */
  shape: [number, number, number];
  /** Bounding-box start [z0, y0, x0]. */
  origin: [number, number, number];
  /** 1 where the voxel is in the region, over the bounding box. */
  inRoi: Uint8Array;
  /** Voxels in the region. */
  voxelCount: number;
  /** The label value(s) that formed it. */
  labels: number[];
}

/**
 * Finds the voxels of `mask` equal to `label` (or to any of several labels) and their bounding box.
 * @throws TypeError/RangeError for a malformed mask or label; {@link RadiomicsError}
 *   `ERR_EMPTY_ROI` when no voxel has the label.
 */
export function locateRegion(mask: RadiomicsVolume, label: number | readonly number[]): RegionMask {
  const region = locateRegions(mask, { roi: label }).roi;
  if (region instanceof RadiomicsError) throw region;
  return region;
}

/**
 * {@link locateRegion} for several regions of one mask in a single pass over it (each region a
 * label or a set of labels); an empty region comes back as its RadiomicsError instead of a throw.
 */
export function locateRegions<K extends string>(
  mask: RadiomicsVolume,
  regions: Readonly<Record<K, number | readonly number[]>>,
): Record<K, RegionMask | RadiomicsError> {
  const [D, H, W] = checkVolume(mask, 'mask');
  const names = Object.keys(regions) as K[];
  const labelSets = names.map((name) => {
    const label = regions[name];
    const labels = typeof label === 'number' ? [label] : Array.isArray(label) ? [...label] : [];
    if (labels.length === 0 || labels.some((l) => typeof l !== 'number' || !Number.isFinite(l))) {
      throw new TypeError(`Expected label to be a number or a non-empty array of numbers but received ${describeValue(label)}`);
    }
    return labels as number[];
  });
  // Bounding box of each distinct label value, in one pass. Small non-negative integer labels
  // (every segmentation) map to a slot through a lookup table: indexing it with any other value
  // (0, fractions, negatives, large numbers) gives 0 or undefined, i.e. "not a label of interest".
  const distinct = [...new Set(labelSets.flat())];
  const useTable = distinct.every((l) => Number.isInteger(l) && l >= 0 && l < 65536);
  const table = new Uint16Array(useTable ? Math.max(...distinct) + 1 : 0);
  distinct.forEach((l, k) => {
    if (useTable) table[l] = k + 1;
  });
  const box = new Int32Array(distinct.length * 6);
  for (let k = 0; k < distinct.length; k++) box.set([D, H, W, -1, -1, -1], k * 6);
  const m = mask.data;
  for (let z = 0, p = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++, p++) {
        const slot = useTable ? table[m[p]] : distinct.indexOf(m[p]) + 1;
        if (!slot) continue;
        const b = (slot - 1) * 6;
        if (z < box[b]) box[b] = z;
        if (y < box[b + 1]) box[b + 1] = y;
        if (x < box[b + 2]) box[b + 2] = x;
        if (z > box[b + 3]) box[b + 3] = z;
        if (y > box[b + 4]) box[b + 4] = y;
        if (x > box[b + 5]) box[b + 5] = x;
      }
    }
  }
  const out = {} as Record<K, RegionMask | RadiomicsError>;
  names.forEach((name, r) => {
    const labels = labelSets[r];
    let z0 = D,
      y0 = H,
      x0 = W,
      z1 = -1,
      y1 = -1,
      x1 = -1;
    const member = new Uint8Array(distinct.length + 1);
    for (const l of labels) {
      const k = distinct.indexOf(l);
      member[k + 1] = 1;
      const b = k * 6;
      if (box[b + 3] < 0) continue;
      z0 = Math.min(z0, box[b]);
      y0 = Math.min(y0, box[b + 1]);
      x0 = Math.min(x0, box[b + 2]);
      z1 = Math.max(z1, box[b + 3]);
      y1 = Math.max(y1, box[b + 4]);
      x1 = Math.max(x1, box[b + 5]);
    }
    if (z1 < 0) {
      out[name] = new RadiomicsError(
        'ERR_EMPTY_ROI',
        `The mask has no voxel with label ${labels.join(' or ')}: the region of interest is empty`,
      );
      return;
    }
    const d = z1 - z0 + 1,
      h = y1 - y0 + 1,
      w = x1 - x0 + 1;
    const inRoi = new Uint8Array(d * h * w);
    let voxelCount = 0;
    for (let z = 0, q = 0; z < d; z++) {
      for (let y = 0; y < h; y++) {
        let p = ((z + z0) * H + (y + y0)) * W + x0;
        for (let x = 0; x < w; x++, p++, q++) {
          const slot = useTable ? table[m[p]] : distinct.indexOf(m[p]) + 1;
          if (slot && member[slot]) {
            inRoi[q] = 1;
            voxelCount++;
          }
        }
      }
    }
    out[name] = { volumeShape: [D, H, W], shape: [d, h, w], origin: [z0, y0, x0], inRoi, voxelCount, labels };
  });
  return out;
}

/**
 * Gathers the image's intensities over a located region (a region found once can serve several
 * images of the same grid).
 * @throws RangeError for an image of another shape or a non-finite ROI intensity
 */
export function roiOf(image: RadiomicsVolume, region: RegionMask): Roi {
  const shape = checkVolume(image, 'image');
  const [D, H, W] = region.volumeShape;
  if (shape[0] !== D || shape[1] !== H || shape[2] !== W) {
    throw new RangeError(`Expected mask to have the image's shape [${shape.join(', ')}] but received [${region.volumeShape.join(', ')}]`);
  }
  const [d, h, w] = region.shape;
  const [z0, y0, x0] = region.origin;
  const { inRoi } = region;
  const values = new Float64Array(inRoi.length);
  const roiValues = new Float64Array(region.voxelCount);
  const img = image.data;
  for (let z = 0, q = 0, k = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      let p = ((z + z0) * H + (y + y0)) * W + x0;
      for (let x = 0; x < w; x++, p++, q++) {
        if (!inRoi[q]) continue;
        const v = Number(img[p]);
        if (!Number.isFinite(v)) {
          throw new RangeError(`Expected finite image intensities in the ROI but voxel [${z + z0}, ${y + y0}, ${x + x0}] is ${v}`);
        }
        values[q] = v;
        roiValues[k++] = v;
      }
    }
  }
  const spacing = image.spacing;
  const voxelVolume = spacing && spacing.length >= 3 ? spacing[0] * spacing[1] * spacing[2] : 1;
  return { shape: [d, h, w], origin: [z0, y0, x0], inRoi, values, roiValues, voxelVolume };
}

/**
 * Selects the ROI (mask voxels equal to `label`, or to any of several labels) and crops image and
 * mask to its bounding box.
 * @throws TypeError/RangeError for malformed volumes or a mask of another shape;
 *   {@link RadiomicsError} `ERR_EMPTY_ROI` when no voxel has the label; RangeError when an ROI
 *   intensity is not finite.
 */
export function selectRoi(image: RadiomicsVolume, mask: RadiomicsVolume, label: number | readonly number[]): Roi {
  const shape = checkVolume(image, 'image');
  const maskShape = checkVolume(mask, 'mask');
  if (shape.some((d, i) => d !== maskShape[i])) {
    throw new RangeError(`Expected mask to have the image's shape [${shape.join(', ')}] but received [${maskShape.join(', ')}]`);
  }
  return roiOf(image, locateRegion(mask, label));
}

function checkVolume(volume: RadiomicsVolume, name: string): [number, number, number] {
  if (volume === null || typeof volume !== 'object' || !volume.data || typeof volume.data.length !== 'number') {
    throw new TypeError(`Expected ${name} to be {data, shape} but received ${describeValue(volume)}`);
  }
  const shape = checkShape([...volume.shape], `${name}.shape`, { rank: 3 });
  const size = shape[0] * shape[1] * shape[2];
  if (volume.data.length !== size) {
    throw new RangeError(`Expected ${name}.data to hold ${size} values for shape [${shape.join(', ')}] but it holds ${volume.data.length}`);
  }
  return shape as [number, number, number];
}

/** Python's float `a % b` (the result takes the sign of b). */
function pyMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

/**
 * PyRadiomics's bin edges (imageoperations.getBinEdges). Fixed width W: edges are
 * `arange(min - min % W, max + 2W, W)`, equally spaced from 0, so level 1 holds the lowest ROI
 * value. Fixed count N: `numpy.histogram(values, N)` edges with the last edge raised by 1.
 */
export function binEdges(roiValues: Float64Array, { binWidth, binCount }: { binWidth: number; binCount?: number }): Float64Array {
  let min = Infinity,
    max = -Infinity;
  for (const v of roiValues) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (binCount !== undefined) {
    // numpy.histogram: linspace(min, max, N + 1); an all-equal range becomes [min - 0.5, max + 0.5].
    let lo = min,
      hi = max;
    if (lo === hi) {
      lo -= 0.5;
      hi += 0.5;
    }
    const edges = new Float64Array(binCount + 1);
    const step = (hi - lo) / binCount;
    for (let i = 0; i <= binCount; i++) edges[i] = lo + i * step;
    edges[binCount] = hi + 1;
    return edges;
  }
  const low = min - pyMod(min, binWidth);
  const high = max + 2 * binWidth;
  const n = Math.ceil((high - low) / binWidth); // numpy.arange's length
  const edges = new Float64Array(n);
  for (let i = 0; i < n; i++) edges[i] = low + i * binWidth;
  if (n === 1) return Float64Array.of(edges[0] - 0.5, edges[0] + 0.5);
  return edges;
}

/** numpy.digitize(x, edges) for ascending edges: the i with edges[i-1] <= x < edges[i]. */
function digitize(x: number, edges: Float64Array): number {
  let lo = 0,
    hi = edges.length; // first index with edges[index] > x
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Discretises the ROI's intensities into 1-based gray levels (PyRadiomics binImage). */
export function discretise(roi: Roi, options: { binWidth: number; binCount?: number }): Discretised {
  const edges = binEdges(roi.roiValues, options);
  const bins = new Int32Array(roi.inRoi.length);
  let maxLevel = 0;
  const present = new Set<number>();
  for (let q = 0; q < bins.length; q++) {
    if (!roi.inRoi[q]) continue;
    const b = digitize(roi.values[q], edges);
    bins[q] = b;
    present.add(b);
    if (b > maxLevel) maxLevel = b;
  }
  const grayLevels = Int32Array.from([...present].sort((a, b) => a - b));
  return { bins, grayLevels, maxLevel, edges };
}
