/**
 * Elastic deformation as the elasticdeform package does it (`deform_grid` and
 * `deform_random_grid`, v0.5): a coarse grid of control points spans the volume including its
 * borders (control point k of p sits at voxel k (n-1)/(p-1)); each holds a displacement in voxels
 * per axis; the displacement at every voxel is the cubic B-spline interpolant of the grid (with the
 * spline prefilter, mirror boundary: scipy.ndimage.map_coordinates(order=3)); the volume is sampled
 * at x + d(x) with `order` and `mode` (elasticdeform's default 'constant': 0 outside [0, n-1]).
 *
 * {@link randomElasticDeform} draws the grid as `np.random.randn(3, p, p, p) * sigma` from numpy's
 * legacy generator seeded with `seed`, so `np.random.seed(seed);
 * elasticdeform.deform_random_grid(v, sigma, points, order)` is the same deformation.
 * Parity: test/data/transforms/elastic-deform.test.ts against scripts/fixtures/augment/reference.py.
 * @module
 */
import { PAPER_AUGMENT } from '../../config/train.js';
import { native } from '../../native/binding.js';
import { checkInteger, checkNumber } from '../../util/validate.js';
import { AugmentRng } from './rng.js';
import { sampling, type BoundaryMode, type InterpolationOrder } from './rotate.js';
import { runOnVolumes, volumeShape, type Augmented, type VolumeLike, type VolumeOptions } from './volume.js';

/** Options of {@link elasticDeform}. */
export interface ElasticDeformOptions<V extends VolumeLike> extends VolumeOptions<V> {
  /** Interpolation of the image (the mask is always nearest); {@link PAPER_AUGMENT}.elasticOrder unless given. */
  order?: InterpolationOrder;
  /** Boundary handling; {@link PAPER_AUGMENT}.elasticMode unless given. */
  mode?: BoundaryMode;
}

/**
 * Deforms by a given control-point displacement grid.
 * @param image [D, H, W]
 * @param displacement voxels, C-order [3, p0, p1, p2] (axis, then control points along D, H, W)
 * @param points [p0, p1, p2], each in [1, 64]
 * @see docs/study.md section 3, "Elastic"
 */
export async function elasticDeform<V extends VolumeLike>(
  image: V,
  displacement: Float64Array | readonly number[],
  points: readonly [number, number, number],
  options: ElasticDeformOptions<V> = {},
): Promise<Augmented<V>> {
  if (!Array.isArray(points) || points.length !== 3) throw new TypeError('Expected points to be [p0, p1, p2]');
  points.forEach((p, i) => checkInteger(p, `points[${i}]`, { min: 1, max: 64 }));
  const grid = Float64Array.from(displacement as ArrayLike<number>);
  const expected = 3 * points[0] * points[1] * points[2];
  if (grid.length !== expected)
    throw new RangeError(`Expected displacement to hold 3 x ${points.join(' x ')} = ${expected} values but received ${grid.length}`);
  if (!grid.every(Number.isFinite)) throw new RangeError('Expected displacement to hold finite numbers');
  const s = sampling(options.order, options.mode, { order: PAPER_AUGMENT.elasticOrder, mode: PAPER_AUGMENT.elasticMode });
  const { shape: _shape, ...out } = await runOnVolumes(image, options, (img, mask) =>
    native().augmentElastic(img, mask, grid, [points[0], points[1], points[2]], { order: s.order, mode: s.mode }),
  );
  return out;
}

/** Options of {@link randomElasticDeform}. */
export interface RandomElasticDeformOptions<V extends VolumeLike> extends ElasticDeformOptions<V> {
  /** Seed of numpy's legacy generator (an integer in [0, 2^32 - 1]). */
  seed: number;
  /** Standard deviation of the displacements, voxels; {@link PAPER_AUGMENT}.elasticSigma unless given. */
  sigma?: number;
  /** Control points per axis; {@link PAPER_AUGMENT}.elasticPoints unless given. */
  points?: number;
}

/**
 * Deforms by a random grid: displacements ~ N(0, sigma^2) voxels at points^3 control points.
 * @returns the deformed volume(s) and the displacement grid drawn ([3, p, p, p], C-order)
 */
export async function randomElasticDeform<V extends VolumeLike>(
  image: V,
  options: RandomElasticDeformOptions<V>,
): Promise<Augmented<V> & { displacement: Float64Array }> {
  volumeShape(image);
  const sigma = checkNumber(options.sigma ?? PAPER_AUGMENT.elasticSigma, 'options.sigma', { min: 0 });
  const p = checkInteger(options.points ?? PAPER_AUGMENT.elasticPoints, 'options.points', { min: 1, max: 64 });
  const displacement = new AugmentRng(options.seed).randn(3 * p * p * p).map((v) => v * sigma);
  return { ...(await elasticDeform(image, displacement, [p, p, p], options)), displacement };
}
