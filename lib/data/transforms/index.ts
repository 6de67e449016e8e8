// The augmentation transforms of [D, H, W] volumes (lib/data/index.ts re-exports these).
export { flip, randomFlip, type FlipOptions, type RandomFlipOptions } from './flip.js';
export {
  rotate,
  randomRotate,
  type RotateOptions,
  type RandomRotateOptions,
  type BoundaryMode,
  type InterpolationOrder,
} from './rotate.js';
export { randomNoise, type RandomNoiseOptions } from './random-noise.js';
export { elasticDeform, randomElasticDeform, type ElasticDeformOptions, type RandomElasticDeformOptions } from './elastic-deform.js';
export { AugmentRng, deriveSeed } from './rng.js';
export type { HostVolume, VolumeLike, Augmented, VolumeOptions } from './volume.js';
