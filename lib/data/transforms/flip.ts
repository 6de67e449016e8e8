/**
 * Flip: reverses axes of a [D, H, W] volume. The study mirrors all three axes at once
 * (`np.flip(arr, axis=(1,2,3))` on (C,D,H,W)), a point reflection through the centre.
 * @module
 */
import { PAPER_AUGMENT } from '../../config/train.js';
import { native } from '../../native/binding.js';
import { checkInteger, checkNumber } from '../../util/validate.js';
import { AugmentRng } from './rng.js';
import { runOnVolumes, type Augmented, type VolumeLike, type VolumeOptions } from './volume.js';

/** Options of {@link flip}. */
export interface FlipOptions<V extends VolumeLike> extends VolumeOptions<V> {
  /** Axes of [D, H, W] to reverse, all at once; {@link PAPER_AUGMENT}.flipAxes unless given. */
  axes?: readonly number[];
}

function checkAxes(axes: readonly number[], name: string): number[] {
  if (!Array.isArray(axes)) throw new TypeError(`Expected ${name} to be an array of axes (0, 1, 2)`);
  const out = axes.map((a, i) => checkInteger(a, `${name}[${i}]`, { min: 0, max: 2 }));
  if (new Set(out).size !== out.length) throw new RangeError(`Expected ${name} to list distinct axes but received [${out.join(', ')}]`);
  return out;
}

/**
 * Reverses `axes` of the image (and of the mask when given).
 * @param image [D, H, W]
 * @returns the flipped volume(s), the same kind as `image`
 * @throws TypeError/RangeError for a malformed volume or axis
 * @see docs/study.md section 3, "Flip"
 */
export async function flip<V extends VolumeLike>(image: V, options: FlipOptions<V> = {}): Promise<Augmented<V>> {
  const axes = checkAxes(options.axes ?? PAPER_AUGMENT.flipAxes, 'options.axes');
  const { shape: _shape, ...out } = await runOnVolumes(image, options, (img, mask) => native().augmentFlip(img, mask, axes));
  return out;
}

/** Options of {@link randomFlip}. */
export interface RandomFlipOptions<V extends VolumeLike> extends FlipOptions<V> {
  /** Seed of the draw (an integer in [0, 2^32 - 1]). */
  seed: number;
  /** Chance that each listed axis is reversed, independently (0.5 unless given). */
  probability?: number;
}

/**
 * Reverses each of `axes` with probability `probability` (seeded). With probability 1 it is
 * {@link flip}.
 * @returns the flipped volume(s) and the axes that were reversed
 */
export async function randomFlip<V extends VolumeLike>(
  image: V,
  options: RandomFlipOptions<V>,
): Promise<Augmented<V> & { axes: number[] }> {
  const axes = checkAxes(options.axes ?? PAPER_AUGMENT.flipAxes, 'options.axes');
  const p = checkNumber(options.probability ?? 0.5, 'options.probability', { min: 0, max: 1 });
  const rng = new AugmentRng(options.seed);
  const chosen = axes.filter(() => rng.randomSample() < p);
  return { ...(await flip(image, { ...options, axes: chosen })), axes: chosen };
}
