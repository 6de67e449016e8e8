/**
 * Rotation of every plane of a [D, H, W] volume spanned by two axes, about the plane's centre.
 * The study meant skimage.transform.rotate on each (D, H, W) volume with a random angle in
 * [-180, 180] degrees (the (D, H) plane, linear interpolation, constant 0 outside); its "rotate"
 * copy was in fact never rotated (docs/study.md, bug 4). This one rotates.
 *
 * Parity (test/data/transforms/rotate.test.ts, against scripts/fixtures/augment/reference.py):
 * - mode 'grid-constant' equals `skimage.transform.rotate(v, angle, order, mode='constant',
 *   cval=0, preserve_range=True)` with the plane's axes moved first: skimage interpolates across
 *   the edge with zeros (scipy calls this 'grid-constant');
 * - mode 'constant' equals `scipy.ndimage.rotate(v, angle, axes=(b, a), reshape=False, order,
 *   mode='constant', cval=0)`: any sample whose source lies outside [0, n-1] is 0.
 * The two differ only within one voxel of the border.
 * @module
 */
import { PAPER_AUGMENT } from '../../config/train.js';
import { native } from '../../native/binding.js';
import { checkInteger, checkNumber, checkOneOf } from '../../util/validate.js';
import { AugmentRng } from './rng.js';
import { runOnVolumes, type Augmented, type VolumeLike, type VolumeOptions } from './volume.js';

/** How samples outside the volume are filled (scipy.ndimage's names). */
export type BoundaryMode = 'constant' | 'grid-constant';
/** Interpolation order: 0 nearest, 1 linear. */
export type InterpolationOrder = 0 | 1;

/** Options of {@link rotate}. */
export interface RotateOptions<V extends VolumeLike> extends VolumeOptions<V> {
  /** Axes [rows, columns] of the rotated plane; {@link PAPER_AUGMENT}.rotationPlane unless given. */
  plane?: readonly [number, number];
  /** Interpolation of the image (the mask is always nearest); {@link PAPER_AUGMENT}.rotationOrder unless given. */
  order?: InterpolationOrder;
  /** Boundary handling; {@link PAPER_AUGMENT}.rotationMode unless given. */
  mode?: BoundaryMode;
}

function checkPlane(plane: unknown): [number, number] {
  if (!Array.isArray(plane) || plane.length !== 2) throw new TypeError('Expected options.plane to be two axes [rows, columns]');
  const [a, b] = [
    checkInteger(plane[0], 'options.plane[0]', { min: 0, max: 2 }),
    checkInteger(plane[1], 'options.plane[1]', { min: 0, max: 2 }),
  ];
  if (a === b) throw new RangeError(`Expected options.plane to name two different axes but received [${a}, ${b}]`);
  return [a, b];
}

/** @internal */
export function sampling(
  order: unknown,
  mode: unknown,
  defaults: { order: number; mode: string },
): { order: InterpolationOrder; mode: BoundaryMode } {
  const o = checkInteger(order ?? defaults.order, 'options.order', { min: 0, max: 1 }) as InterpolationOrder;
  const m = checkOneOf(mode ?? defaults.mode, 'options.mode', ['constant', 'grid-constant'] as const);
  return { order: o, mode: m };
}

/**
 * Rotates by `angleDeg` (counter-clockwise with row 0 at the top, as skimage) in `plane`.
 * @param image [D, H, W]
 * @param angleDeg degrees
 * @returns the rotated volume(s), the same kind and shape as `image`
 * @see docs/study.md section 3, "Rotate"
 */
export async function rotate<V extends VolumeLike>(image: V, angleDeg: number, options: RotateOptions<V> = {}): Promise<Augmented<V>> {
  checkNumber(angleDeg, 'angleDeg');
  const axes = checkPlane(options.plane ?? PAPER_AUGMENT.rotationPlane);
  const s = sampling(options.order, options.mode, { order: PAPER_AUGMENT.rotationOrder, mode: PAPER_AUGMENT.rotationMode });
  const { shape: _shape, ...out } = await runOnVolumes(image, options, (img, mask) =>
    native().augmentRotate(img, mask, { angleDeg, axes, order: s.order, mode: s.mode }),
  );
  return out;
}

/** Options of {@link randomRotate}. */
export interface RandomRotateOptions<V extends VolumeLike> extends RotateOptions<V> {
  /** Seed of the draw (an integer in [0, 2^32 - 1]). */
  seed: number;
  /** The angle is uniform in [min, max) degrees; {@link PAPER_AUGMENT}.rotationRangeDeg unless given. */
  rangeDeg?: readonly [number, number];
}

/**
 * Rotates by a seeded uniform angle in `rangeDeg`.
 * @returns the rotated volume(s) and the angle drawn
 */
export async function randomRotate<V extends VolumeLike>(
  image: V,
  options: RandomRotateOptions<V>,
): Promise<Augmented<V> & { angleDeg: number }> {
  const [low, high] = options.rangeDeg ?? PAPER_AUGMENT.rotationRangeDeg;
  checkNumber(low, 'options.rangeDeg[0]');
  checkNumber(high, 'options.rangeDeg[1]', { min: low });
  const angleDeg = new AugmentRng(options.seed).uniform(low, high);
  return { ...(await rotate(image, angleDeg, options)), angleDeg };
}
