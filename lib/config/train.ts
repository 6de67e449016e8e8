/**
 * Augmentation and training settings. Defaults live here only; each cites the study
 * (Schmitz, Guo, Wang 2024) or the reference code's configuration (docs/study.md sections 3
 * and 5, "REF" = LabAIRT/gbm_project).
 * @module
 */
import { z } from 'zod';
import { DeviceSchema } from './device.js';

/**
 * The smallest Gumbel-softmax temperature Network.trainStep accepts. The step divides the
 * float32 logits plus noise by tau: below float32's range tau itself rounds to 0 (Number.MIN_VALUE
 * gave a NaN loss every time), and from 1e-20 up the quotient stays finite for any |logit + noise|
 * under 3.4e18, far beyond what an agent produces.
 */
export const MIN_GUMBEL_TAU = 1e-20;

/** The study's augmentation values (docs/study.md section 3). */
export const PAPER_AUGMENT = {
  /** `np.flip(arr, axis=(1,2,3))` on (C,D,H,W): all three spatial axes at once. */
  flipAxes: [0, 1, 2],
  /** "randomly rotating between -180 and 180 degrees" (paper); REF draws integers in [-180, 180). */
  rotationRangeDeg: [-180, 180],
  /** skimage.transform.rotate on each (D,H,W) volume rotates the plane of its first two axes. */
  rotationPlane: [0, 1],
  /** skimage.transform.rotate defaults: order 1 (linear) ... */
  rotationOrder: 1,
  /** ... mode 'constant', cval 0: skimage interpolates across the edge with zeros (scipy's 'grid-constant'). */
  rotationMode: 'grid-constant',
  /** skimage.util.random_noise defaults: mean 0, var 0.01, clip=True. */
  noiseMean: 0,
  noiseVariance: 0.01,
  noiseClip: true,
  /** `elasticdeform.deform_random_grid(arr, sigma=5, order=0, axis=(1,2,3))`, points default 3. */
  elasticSigma: 5,
  elasticPoints: 3,
  elasticOrder: 0,
  /** elasticdeform's default mode 'constant', cval 0 (scipy's 'constant'). */
  elasticMode: 'constant',
  /** Training folds read augment_types=('flip','rotate','noise','deform'), each made from the base. */
  kinds: ['flip', 'rotate', 'noise', 'deform'],
  /** Majority class pruned until the classes are equal (REF dataset_class.py:84-104). */
  balance: true,
  /** REF seeds its generators with 42 (default_rng(42), random_state=42). */
  seed: 42,
} as const;

/** The four augmentations of the study, in the order the recipe adds them. */
export const AUGMENTATION_KINDS = ['flip', 'rotate', 'noise', 'deform'] as const;
/** One of {@link AUGMENTATION_KINDS}: an entry of {@link AugmentSchema}'s `kinds`. */
export type AugmentationKind = (typeof AUGMENTATION_KINDS)[number];

const axis = z.number().int().min(0).max(2);
const interpolationOrder = z.union([z.literal(0), z.literal(1)]);
const boundaryMode = z.enum(['constant', 'grid-constant']);

/** Settings of the study's augmentation recipe ({@link expandTrainingSet}). */
export const AugmentSchema = z
  .object({
    kinds: z
      .array(z.enum(AUGMENTATION_KINDS))
      .default([...PAPER_AUGMENT.kinds])
      .describe('Augmented copies added per training sample, each made from the base'),
    balance: z
      .boolean()
      .default(PAPER_AUGMENT.balance)
      .describe('Randomly drop samples of the majority class of the expanded set until the classes are equal'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(PAPER_AUGMENT.seed)
      .describe('Seed of every augmentation draw and of the balancing'),
    flipAxes: z
      .array(axis)
      .default([...PAPER_AUGMENT.flipAxes])
      .describe('Axes of [D, H, W] the flip reverses (all at once)'),
    rotationRangeDeg: z
      .tuple([z.number().min(-360), z.number().max(360)])
      .default([...PAPER_AUGMENT.rotationRangeDeg])
      .describe('Uniform range of the rotation angle, degrees'),
    rotationPlane: z
      .tuple([axis, axis])
      .default([...PAPER_AUGMENT.rotationPlane])
      .describe('Axes [rows, columns] of the rotated plane'),
    rotationOrder: interpolationOrder.default(PAPER_AUGMENT.rotationOrder).describe('Rotation interpolation: 0 nearest, 1 linear'),
    rotationMode: boundaryMode
      .default(PAPER_AUGMENT.rotationMode)
      .describe("Rotation boundary: 'grid-constant' as skimage, 'constant' as scipy.ndimage"),
    noiseMean: z.number().default(PAPER_AUGMENT.noiseMean).describe('Mean of the additive Gaussian noise'),
    noiseVariance: z.number().min(0).default(PAPER_AUGMENT.noiseVariance).describe('Variance of the additive Gaussian noise'),
    noiseClip: z
      .boolean()
      .default(PAPER_AUGMENT.noiseClip)
      .describe('Clip to [0, 1] ([-1, 1] for volumes with negative values), as skimage'),
    elasticSigma: z
      .number()
      .min(0)
      .default(PAPER_AUGMENT.elasticSigma)
      .describe('Standard deviation of the control-point displacements, voxels'),
    elasticPoints: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(PAPER_AUGMENT.elasticPoints)
      .describe('Control points per axis of the deformation grid'),
    elasticOrder: interpolationOrder.default(PAPER_AUGMENT.elasticOrder).describe('Elastic resampling: 0 nearest, 1 linear'),
    elasticMode: boundaryMode.default(PAPER_AUGMENT.elasticMode).describe("Elastic boundary: 'constant' as elasticdeform"),
    device: DeviceSchema.describe('Where augmentation runs'),
    memoize: z.boolean().default(false).describe('Keep each augmented volume in memory after its first load'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof AugmentSchema>.
import type { AugmentOptions } from './options.js';
export type { AugmentOptions };
/** {@link AugmentOptions} resolved by AugmentSchema: every default filled in; what the code downstream receives. */
export type AugmentConfig = z.output<typeof AugmentSchema>;

/** Resolves augmentation options against the study's defaults. */
export function resolveAugmentConfig(options: AugmentOptions = {}): AugmentConfig {
  return AugmentSchema.parse(options);
}

/**
 * The study's training-loop values (docs/study.md section 5; training.ipynb cell 5). The
 * optimiser and learning-rate schedule belong to the network (lib/config/model.ts).
 */
export const PAPER_TRAIN = {
  /** n_epochs 90 (the notebook overrides the cfg default 60). */
  epochs: 90,
  /** batch_size 12. */
  batchSize: 12,
  /**
   * Gumbel temperature 100 from epoch 0 (temp_steps=[0], temp_vals=[1e2]). The library's one
   * temperature knob: it shapes the backward pass of SpotTune's straight-through Gumbel-softmax,
   * and the study scheduled it per epoch, so it is a training value, not a network one.
   */
  gumbelTau: 100,
  /** sen_threshold and spe_threshold: strict `>` gates on the validation fold. */
  senThreshold: 0.5,
  speThreshold: 0.5,
  /** M = 0.6 SEN + 0.4 SPE. */
  senWeight: 0.6,
  /** Sigmoid probabilities thresholded at 0.5 (`> 0.5`). */
  threshold: 0.5,
  /** torch.manual_seed(42) per fold; split_seed 42. */
  seed: 42,
} as const;

/**
 * The networks the study compares, in its order: SpotTune, a ResNet50 trained from scratch
 * (`random`) and MedicalNet transfer (paper section 2.3). The one list: the experiment's grid, its
 * plan and `spottune train` all take their networks from here.
 */
export const TRAIN_NETWORKS = ['spottune', 'random', 'transfer'] as const;
/** One of {@link TRAIN_NETWORKS}: the name of one of the study's three compared networks. */
export type TrainNetwork = (typeof TRAIN_NETWORKS)[number];

/** Settings of one training run ({@link Trainer}). */
export const TrainSchema = z
  .object({
    epochs: z.number().int().positive().default(PAPER_TRAIN.epochs).describe('Passes over the training split'),
    batchSize: z.number().int().positive().default(PAPER_TRAIN.batchSize).describe('Samples per optimisation step'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(PAPER_TRAIN.seed)
      .describe(
        "Seed of the shuffling and of every step's and validation pass's Gumbel noise (the network's initialisation has its own seed, network.seed)",
      ),
    shuffle: z.boolean().default(true).describe('Reshuffle the training split every epoch (REF DataLoader shuffle=True)'),
    gumbelTau: z
      .union([z.number().min(MIN_GUMBEL_TAU), z.array(z.tuple([z.number().int().min(0), z.number().min(MIN_GUMBEL_TAU)])).min(1)])
      .default(PAPER_TRAIN.gumbelTau)
      .describe(
        "Temperature of the backward pass of SpotTune's straight-through Gumbel-softmax (the forward pass is the hard argmax), scheduled per epoch as the study's temp_steps/temp_vals: a constant, or [[epoch, tau], ...] steps, each from its (0-based) epoch on. The only temperature: the Trainer passes it to every step (docs/study.md section 5)",
      ),
    plateauMetric: z
      .enum(['acc+auc', 'loss'])
      .default('acc+auc')
      .describe(
        "Validation quantity the network's ReduceLROnPlateau watches each epoch: 'acc+auc' (the study's; needs scheduler.mode 'max') or 'loss' (needs 'min')",
      ),
    threshold: z.number().min(0).max(1).default(PAPER_TRAIN.threshold).describe('Probability above which a prediction is positive'),
    senWeight: z.number().min(0).max(1).default(PAPER_TRAIN.senWeight).describe('Weight of SEN in M = w SEN + (1 - w) SPE'),
    senThreshold: z
      .number()
      .min(0)
      .max(1)
      .default(PAPER_TRAIN.senThreshold)
      .describe('An epoch counts for selection only when validation SEN exceeds this'),
    speThreshold: z
      .number()
      .min(0)
      .max(1)
      .default(PAPER_TRAIN.speThreshold)
      .describe('An epoch counts for selection only when validation SPE exceeds this'),
    checkpointEvery: z.number().int().positive().default(1).describe('Write a checkpoint every this many epochs (and after the last)'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof TrainSchema>.
import type { TrainOptions } from './options.js';
export type { TrainOptions };
/** {@link TrainOptions} resolved by TrainSchema: every default filled in; what the code downstream receives. */
export type TrainConfig = z.output<typeof TrainSchema>;

/** Resolves training options against the study's defaults. */
export function resolveTrainConfig(options: TrainOptions = {}): TrainConfig {
  return TrainSchema.parse(options);
}
