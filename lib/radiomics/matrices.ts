/**
 * PyRadiomics's texture matrices in 3D at distance 1: the GLCM per direction, the GLSZM and the
 * NGTDM. Rows (and GLCM columns) are the gray levels present in the ROI, ascending, as PyRadiomics
 * keeps them after deleting empty levels.
 * @module
 */
import type { Discretised, Roi } from './roi.js';

/**
 * The 13 GLCM directions as (dz, dy, dx) with x the fastest voxel axis, in PyRadiomics's order
 * (imageoperations.generateAngles for distance 1, 3D).
 */
export const GLCM_DIRECTIONS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 1],
  [1, 1, 0],
  [1, 1, -1],
  [1, 0, 1],
  [1, 0, 0],
  [1, 0, -1],
  [1, -1, 1],
  [1, -1, 0],
  [1, -1, -1],
  [0, 1, 1],
  [0, 1, 0],
  [0, 1, -1],
  [0, 0, 1],
];

/** The 26 neighbours at Chebyshev distance 1. */
const NEIGHBOURS_26: ReadonlyArray<readonly [number, number, number]> = GLCM_DIRECTIONS.flatMap((d) => [d, [-d[0], -d[1], -d[2]] as const]);

/** Gray level co-occurrence matrices, one per direction. */
export interface GlcmMatrices {
  /** Gray levels of rows and columns (bin numbers present in the ROI), ascending. */
  grayLevels: Int32Array;
  /** The directions kept, (dz, dy, dx); directions without any pair in the ROI are dropped. */
  directions: Array<readonly [number, number, number]>;
  /** Per kept direction, the Nl x Nl matrix (row-major), normalised to sum 1; one merged matrix with a weightingNorm. */
  matrices: Float64Array[];
  /** Per matrix, the (weighted) pair count before normalisation (symmetrical: each pair twice). */
  counts: number[];
}

/** How {@link computeGlcm} counts and merges. */
export interface GlcmOptions {
  /** Count each pair in both orders (PyRadiomics symmetricalGLCM); default true. */
  symmetrical?: boolean;
  /**
   * PyRadiomics weightingNorm: null keeps one matrix per direction; otherwise the directions'
   * count matrices are summed with weights exp(-|offset * spacing|^2) in the named norm
   * (1 each for 'no_weighting') into one matrix before normalising.
   */
  weightingNorm?: 'manhattan' | 'euclidean' | 'infinity' | 'no_weighting' | null;
  /** Voxel size along [D, H, W] in mm, for the distance weights. */
  spacing?: readonly number[];
}

/**
 * PyRadiomics's GLCM (cMatrices.calculate_glcm, then glcm._calculateMatrix): for each of the 13
 * directions, the pairs of ROI voxels one step apart, counted as (level(v), level(v + offset)),
 * plus the transpose when symmetrical; empty directions are deleted and each matrix is divided by
 * its sum. With a weightingNorm the result holds one merged matrix.
 */
export function computeGlcm(roi: Roi, disc: Discretised, options: GlcmOptions = {}): GlcmMatrices {
  const symmetrical = options.symmetrical ?? true;
  const weightingNorm = options.weightingNorm ?? null;
  const [d, h, w] = roi.shape;
  const { bins, grayLevels } = disc;
  const nl = grayLevels.length;
  const index = levelIndex(disc);
  const directions: Array<readonly [number, number, number]> = [];
  const matrices: Float64Array[] = [];
  const counts: number[] = [];
  for (const dir of GLCM_DIRECTIONS) {
    const [dz, dy, dx] = dir;
    const m = new Float64Array(nl * nl);
    let total = 0;
    for (let z = 0; z < d; z++) {
      const z2 = z + dz;
      if (z2 < 0 || z2 >= d) continue;
      for (let y = 0; y < h; y++) {
        const y2 = y + dy;
        if (y2 < 0 || y2 >= h) continue;
        const row = (z * h + y) * w;
        const row2 = (z2 * h + y2) * w;
        for (let x = 0; x < w; x++) {
          const a = bins[row + x];
          if (a === 0) continue;
          const x2 = x + dx;
          if (x2 < 0 || x2 >= w) continue;
          const b = bins[row2 + x2];
          if (b === 0) continue;
          const i = index[a],
            j = index[b];
          m[i * nl + j] += 1;
          if (symmetrical) m[j * nl + i] += 1;
          total += symmetrical ? 2 : 1;
        }
      }
    }
    if (total === 0) continue;
    directions.push(dir);
    matrices.push(m);
    counts.push(total);
  }
  if (weightingNorm !== null && matrices.length > 0) {
    const spacing = options.spacing ?? [1, 1, 1];
    const merged = new Float64Array(nl * nl);
    let total = 0;
    directions.forEach((dir, a) => {
      const steps = dir.map((o, axis) => Math.abs(o) * spacing[axis]);
      const distance =
        weightingNorm === 'manhattan'
          ? steps.reduce((u, v) => u + v, 0) ** 2
          : weightingNorm === 'euclidean'
            ? steps.reduce((u, v) => u + v * v, 0)
            : weightingNorm === 'infinity'
              ? Math.max(...steps) ** 2
              : 0;
      const weight = Math.exp(-distance);
      for (let k = 0; k < merged.length; k++) merged[k] += weight * matrices[a][k];
      total += weight * counts[a];
    });
    for (let k = 0; k < merged.length; k++) merged[k] /= total;
    return { grayLevels, directions, matrices: [merged], counts: [total] };
  }
  matrices.forEach((m, a) => {
    for (let k = 0; k < m.length; k++) m[k] /= counts[a];
  });
  return { grayLevels, directions, matrices, counts };
}

/** Gray level size zone matrix. */
export interface GlszmMatrix {
  /** Row gray levels, ascending. */
  grayLevels: Int32Array;
  /** Column zone sizes (voxels), ascending: only the sizes that occur. */
  zoneSizes: Int32Array;
  /** Zone counts, grayLevels.length x zoneSizes.length, row-major. */
  counts: Float64Array;
  /** Number of ROI voxels (PyRadiomics's Np). */
  voxelCount: number;
}

/**
 * PyRadiomics's GLSZM (cMatrices.calculate_glszm): zones are 26-connected sets of ROI voxels of
 * one gray level; the matrix counts zones by level and size. Columns of absent sizes are deleted.
 */
export function computeGlszm(roi: Roi, disc: Discretised): GlszmMatrix {
  const { grayLevels } = disc;
  const index = levelIndex(disc);
  const { bins, offsets } = padded(roi, disc);
  const visited = new Uint8Array(bins.length);
  const stack = new Int32Array(disc.bins.length);
  const span = disc.bins.length + 1;
  const zones = new Map<number, number>(); // key: levelIndex * span + size
  const sizesSeen = new Set<number>();
  let voxelCount = 0;
  for (let start = 0; start < bins.length; start++) {
    const level = bins[start];
    if (level === 0 || visited[start]) continue;
    // Depth-first flood fill of one zone; the zero border stops it at the box's faces.
    let top = 0;
    stack[top++] = start;
    visited[start] = 1;
    let size = 0;
    while (top > 0) {
      const p = stack[--top];
      size++;
      for (let k = 0; k < 26; k++) {
        const q = p + offsets[k];
        if (visited[q] || bins[q] !== level) continue;
        visited[q] = 1;
        stack[top++] = q;
      }
    }
    voxelCount += size;
    sizesSeen.add(size);
    const key = index[level] * span + size;
    zones.set(key, (zones.get(key) ?? 0) + 1);
  }
  const zoneSizes = Int32Array.from([...sizesSeen].sort((a, b) => a - b));
  const column = new Map<number, number>();
  zoneSizes.forEach((size, c) => column.set(size, c));
  const ns = zoneSizes.length;
  const counts = new Float64Array(grayLevels.length * ns);
  for (const [key, n] of zones) {
    const row = Math.floor(key / span);
    counts[row * ns + column.get(key - row * span)!] = n;
  }
  return { grayLevels, zoneSizes, counts, voxelCount };
}

/**
 * The bins with a one-voxel border of zeros around the box, and the 26 neighbour offsets in it:
 * neighbour loops need no bounds checks.
 */
function padded(roi: Roi, disc: Discretised): { bins: Int32Array; offsets: Int32Array } {
  const [d, h, w] = roi.shape;
  const H = h + 2,
    W = w + 2;
  const bins = new Int32Array((d + 2) * H * W);
  for (let z = 0, q = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      const row = ((z + 1) * H + (y + 1)) * W + 1;
      for (let x = 0; x < w; x++, q++) bins[row + x] = disc.bins[q];
    }
  }
  const offsets = Int32Array.from(NEIGHBOURS_26, ([dz, dy, dx]) => (dz * H + dy) * W + dx);
  return { bins, offsets };
}

/** Neighbouring gray tone difference matrix. */
export interface NgtdmMatrix {
  /** Gray levels with at least one counted voxel, ascending (PyRadiomics's column i). */
  grayLevels: Int32Array;
  /** n_i: counted voxels of each level (those with at least one ROI neighbour). */
  n: Float64Array;
  /** s_i: sum over those voxels of |i - mean level of their ROI neighbours|. */
  s: Float64Array;
}

/**
 * PyRadiomics's NGTDM (cMatrices.calculate_ngtdm) with the 26-neighbourhood at distance 1:
 * neighbours outside the ROI are ignored; voxels without any ROI neighbour are skipped. Levels
 * with n_i = 0 are deleted.
 */
export function computeNgtdm(roi: Roi, disc: Discretised): NgtdmMatrix {
  const { grayLevels } = disc;
  const index = levelIndex(disc);
  const nl = grayLevels.length;
  const n = new Float64Array(nl);
  const s = new Float64Array(nl);
  const { bins, offsets } = padded(roi, disc);
  for (let p = 0; p < bins.length; p++) {
    const level = bins[p];
    if (level === 0) continue;
    let sum = 0;
    let count = 0;
    for (let k = 0; k < 26; k++) {
      const b = bins[p + offsets[k]];
      if (b === 0) continue;
      sum += b;
      count++;
    }
    if (count === 0) continue;
    const row = index[level];
    n[row] += 1;
    s[row] += Math.abs(level - sum / count);
  }
  const keep: number[] = [];
  for (let k = 0; k < nl; k++) if (n[k] > 0) keep.push(k);
  return {
    grayLevels: Int32Array.from(keep, (k) => grayLevels[k]),
    n: Float64Array.from(keep, (k) => n[k]),
    s: Float64Array.from(keep, (k) => s[k]),
  };
}

/** Maps a bin number to its row in the matrices (its rank among the levels present). */
function levelIndex(disc: Discretised): Int32Array {
  const index = new Int32Array(disc.maxLevel + 1).fill(-1);
  disc.grayLevels.forEach((level, k) => (index[level] = k));
  return index;
}
