/**
 * One cross-validation fold made ready to train: its training samples (augmented as the study
 * augmented them), its validation fold, the network (seeded, loaded with MedicalNet weights) and
 * the {@link Trainer}. The experiment's training jobs and `spottune train` both build their runs
 * here, so the two cannot drift apart in which patients, which augmentation or which weights a
 * fold gets (docs/study.md sections 3-5).
 * @module
 */
import { modalityGroup, type Modality } from '../config/data.js';
import type { NetworkOptions } from '../config/model.js';
import type { AugmentOptions, TrainNetwork, TrainOptions } from '../config/train.js';
import { expandTrainingSet, type VolumeSample } from '../data/augment.js';
import type { PreparedCohort } from '../data/cache.js';
import type { Splits } from '../data/splits.js';
import { loadMedicalNet } from '../models/medicalnet.js';
import { createNetwork, type Network } from '../models/network.js';
import { describeValue } from '../util/validate.js';
import { Trainer } from './trainer.js';

/** Options of {@link prepareFoldTraining}. */
export interface FoldTrainingOptions {
  /** The prepared-volume cache the samples load from. */
  cache: PreparedCohort;
  /** The study's splits (labels, and each group's folds). */
  splits: Splits;
  /** The derivative trained on; its group's folds are used. */
  modality: Modality;
  /** The modality's group in the splits; default its study group (a cohort with its own groups names it). */
  group?: string;
  /** 0-based fold of the modality's group. */
  fold: number;
  /** The network to build: its kind and any {@link NetworkSchema} option (the study's values elsewhere). */
  network: NetworkOptions & { kind: TrainNetwork };
  /**
   * MedicalNet checkpoint loaded into the network, or null. SpotTune and transfer need one
   * (they start from MedicalNet); a ResNet trained from scratch loads it only when given.
   */
  weights: string | null;
  /**
   * The augmentation recipe ({@link AugmentSchema}; the study's values unless given) that expands
   * the training fold, or false to train on the base volumes only (no copies, no balancing).
   */
  augment: AugmentOptions | false;
  /** {@link TrainSchema}; the study's values unless given. */
  train?: TrainOptions;
  /** The run folder ({@link TrainerOptions.outDir}). */
  outDir?: string;
  /** Passed to the {@link Trainer} ({@link TrainerOptions.signal}): stops the run between steps. */
  signal?: AbortSignal;
  /** What the run records besides its config; a function sees the built network (e.g. its resolved config). */
  meta?: Record<string, unknown> | ((network: Network) => Record<string, unknown>);
}

/** A fold ready to train. Dispose it (or `await using`) to free the network. */
export interface FoldTraining {
  trainer: Trainer;
  network: Network;
  /** The fold's training patients with the modality, before augmentation. */
  base: VolumeSample[];
  /** What the trainer trains on: `base` expanded by the augmentation recipe (or `base` itself). */
  train: readonly VolumeSample[];
  validation: VolumeSample[];
  dispose(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Builds a fold's samples, network and trainer. Patients of the fold that lack the modality are
 * left out (a group's split holds patients with every modality of the group in the grid, but a
 * cache may have skipped a volume).
 * @throws RangeError when the splits have no such fold; TypeError when the network needs weights
 *   and none are given; what {@link createNetwork}, {@link loadMedicalNet} and the
 *   {@link Trainer} throw (the network is disposed first)
 */
export async function prepareFoldTraining(options: FoldTrainingOptions): Promise<FoldTraining> {
  if (!options || typeof options !== 'object') throw new TypeError(`Expected fold training options but received ${describeValue(options)}`);
  const { cache, splits, modality, fold } = options;
  const group = options.group ?? modalityGroup(modality);
  const folds = splits.groups[group]?.folds;
  if (!folds) throw new RangeError(`The splits have no group ${group} (for modality ${modality})`);
  if (!Number.isInteger(fold) || fold < 0 || fold >= folds.length) {
    throw new RangeError(`Expected fold to be an integer in [0, ${folds.length - 1}] but received ${describeValue(fold)}`);
  }
  const kind = options.network.kind;
  if (kind !== 'random' && !options.weights)
    throw new TypeError(`The ${kind} network starts from MedicalNet weights: pass weights (resnet_${options.network.depth ?? 50}.pth)`);

  const has = new Set(cache.patients.filter((p) => p.modalities.includes(modality)).map((p) => p.id));
  const sample = (id: string): VolumeSample => ({ id, label: splits.labels[id], load: () => cache.load(id, modality) });
  const base = folds[fold].train.filter((id) => has.has(id)).map(sample);
  const validation = folds[fold].validation.filter((id) => has.has(id)).map(sample);
  const train = options.augment === false ? base : expandTrainingSet(base, cache.shape, options.augment).samples;

  const network = await createNetwork(options.network);
  try {
    if (options.weights) await loadMedicalNet(network, options.weights);
    const trainer = new Trainer({
      network,
      train,
      validation,
      shape: cache.shape,
      config: options.train ?? {},
      outDir: options.outDir,
      signal: options.signal,
      meta: typeof options.meta === 'function' ? options.meta(network) : (options.meta ?? {}),
    });
    return {
      trainer,
      network,
      base,
      train,
      validation,
      dispose: () => network.dispose(),
      [Symbol.asyncDispose]: async () => network.dispose(),
    };
  } catch (err) {
    network.dispose();
    throw err;
  }
}
