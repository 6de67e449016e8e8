/**
 * Additive Gaussian noise as `skimage.util.random_noise(v, mode='gaussian', mean, var, clip=True)`:
 * v + N(mean, var), then clipped to [0, 1], or to [-1, 1] when the volume has negative values.
 * The noise is drawn from a LibTorch CPU generator seeded with `seed`, so one seed gives the same
 * volume on every device (its stream is not numpy's: parity with skimage is in distribution and in
 * the clipping rule, see test/data/transforms/random-noise.test.ts).
 * @module
 */
import { PAPER_AUGMENT } from '../../config/train.js';
import { native } from '../../native/binding.js';
import { checkInteger, checkNumber } from '../../util/validate.js';
import { runOnVolumes, type Augmented, type VolumeLike, type VolumeOptions } from './volume.js';

/** Options of {@link randomNoise}. The mask, when given, is returned unchanged (a copy). */
export interface RandomNoiseOptions<V extends VolumeLike> extends VolumeOptions<V> {
  /** Seed of the noise (a non-negative safe integer). */
  seed: number;
  /** {@link PAPER_AUGMENT}.noiseMean unless given. */
  mean?: number;
  /** {@link PAPER_AUGMENT}.noiseVariance unless given. */
  variance?: number;
  /** {@link PAPER_AUGMENT}.noiseClip unless given. */
  clip?: boolean;
}

/**
 * Adds seeded Gaussian noise to the image.
 * @param image [D, H, W], float
 * @see docs/study.md section 3, "Noise"
 */
export async function randomNoise<V extends VolumeLike>(image: V, options: RandomNoiseOptions<V>): Promise<Augmented<V>> {
  const seed = checkInteger(options?.seed, 'options.seed', { min: 0, max: Number.MAX_SAFE_INTEGER });
  const mean = checkNumber(options.mean ?? PAPER_AUGMENT.noiseMean, 'options.mean');
  const variance = checkNumber(options.variance ?? PAPER_AUGMENT.noiseVariance, 'options.variance', { min: 0 });
  const clip = options.clip ?? PAPER_AUGMENT.noiseClip;
  if (typeof clip !== 'boolean') throw new TypeError(`Expected options.clip to be a boolean`);
  const { shape: _shape, ...out } = await runOnVolumes(image, options, async (img, mask) => {
    const noisy = await native().augmentNoise(img, { seed, mean, std: Math.sqrt(variance), clip });
    return mask ? [noisy, ...(await native().augmentFlip(mask, null, []))] : [noisy];
  });
  return out;
}
