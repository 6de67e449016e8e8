/**
 * The study's augmentation recipe for a training fold: every sample keeps its base volume and gains
 * one copy per augmentation (flip, rotate, noise, deform), each made from the base (augmentations
 * are never compounded); then samples of the majority class are dropped at random (seeded) until
 * both classes are equally frequent. Validation and test sets are never passed here.
 *
 * Copies are lazy: `load()` reads the base and augments it with a seed derived from
 * (config.seed, base id, kind), so a copy is the same volume every time it is loaded, in any order,
 * on any machine.
 * @module
 */
import {
  AUGMENTATION_KINDS,
  resolveAugmentConfig,
  type AugmentationKind,
  type AugmentConfig,
  type AugmentOptions,
} from '../config/train.js';
import type { Device } from '../config/device.js';
import { checkShape, describeValue } from '../util/validate.js';
import { RandomState } from '../util/random-state.js';
import { flip } from './transforms/flip.js';
import { randomElasticDeform } from './transforms/elastic-deform.js';
import { randomNoise } from './transforms/random-noise.js';
import { randomRotate } from './transforms/rotate.js';
import { deriveSeed } from './transforms/rng.js';
import type { HostVolume } from './transforms/volume.js';

/** One labelled volume of a dataset: what the trainer reads. */
export interface VolumeSample {
  /** Unique within its dataset. */
  id: string;
  /** 1 = positive class (MGMT methylated), 0 = negative. */
  label: 0 | 1;
  /** The [D, H, W] float32 volume (C-order). */
  load(): Promise<Float32Array>;
}

/** A sample of an expanded training set. */
export interface AugmentedSample extends VolumeSample {
  /** The id of the sample it was made from (its own id for the base). */
  baseId: string;
  /** 'base' or the augmentation that made it. */
  augmentation: 'base' | AugmentationKind;
}

/** What {@link expandTrainingSet} returns. */
export interface ExpandedTrainingSet {
  samples: AugmentedSample[];
  /** Ids of the expanded pool that balancing dropped, in the order drawn. */
  dropped: string[];
  /** Positives and negatives before and after balancing. */
  counts: { before: { positive: number; negative: number }; after: { positive: number; negative: number } };
  config: AugmentConfig;
}

/**
 * Applies one augmentation of the recipe to a base volume, with the seed the recipe would use.
 * @param data [D, H, W] float32
 */
export async function augmentVolume(
  data: Float32Array,
  shape: readonly number[],
  kind: AugmentationKind,
  seed: number,
  config: AugmentConfig,
): Promise<Float32Array> {
  const volume: HostVolume = { data, shape };
  const device = config.device as Device;
  switch (kind) {
    case 'flip':
      return (await flip(volume, { axes: config.flipAxes, device })).image.data;
    case 'rotate':
      return (
        await randomRotate(volume, {
          seed,
          rangeDeg: config.rotationRangeDeg,
          plane: config.rotationPlane,
          order: config.rotationOrder,
          mode: config.rotationMode,
          device,
        })
      ).image.data;
    case 'noise':
      return (await randomNoise(volume, { seed, mean: config.noiseMean, variance: config.noiseVariance, clip: config.noiseClip, device }))
        .image.data;
    case 'deform':
      return (
        await randomElasticDeform(volume, {
          seed,
          sigma: config.elasticSigma,
          points: config.elasticPoints,
          order: config.elasticOrder,
          mode: config.elasticMode,
          device,
        })
      ).image.data;
  }
}

/**
 * Expands a training fold as the study did: base + one copy per `config.kinds`, then (when
 * `config.balance`) the majority class randomly pruned over the whole expanded pool (so bases may go
 * too) until the classes are equal. Pruning follows REF: the majority's pool entries are permuted by
 * numpy's `RandomState(seed)` (as pandas `sample(frac=1, random_state=seed)`) and the last
 * |n - 2 x positives| of that order are dropped. The pool is ordered sample by sample
 * (base, flip, rotate, noise, deform); the survivors keep that order.
 *
 * @param samples the training fold only; ids must be unique
 * @param shape [D, H, W] of every volume
 * @param options {@link AugmentSchema} (the study's values unless given)
 * @throws TypeError/RangeError for malformed samples, duplicate ids or options
 * @see docs/study.md section 3 ("Copies", "Class balance")
 */
export function expandTrainingSet(
  samples: readonly VolumeSample[],
  shape: readonly number[],
  options: AugmentOptions = {},
): ExpandedTrainingSet {
  if (!Array.isArray(samples as unknown)) throw new TypeError(`Expected samples to be an array but received ${describeValue(samples)}`);
  checkShape(shape, 'shape', { rank: 3 });
  const config = resolveAugmentConfig(options);
  const ids = new Set<string>();
  samples.forEach((s, i) => {
    if (!s || typeof s.id !== 'string' || typeof s.load !== 'function')
      throw new TypeError(`Expected samples[${i}] to be {id, label, load()} but received ${describeValue(s)}`);
    if (s.label !== 0 && s.label !== 1)
      throw new RangeError(`Expected samples[${i}].label to be 0 or 1 but received ${describeValue(s.label)}`);
    if (ids.has(s.id)) throw new RangeError(`Duplicate sample id ${JSON.stringify(s.id)} at samples[${i}]`);
    ids.add(s.id);
  });
  const kinds = AUGMENTATION_KINDS.filter((k) => config.kinds.includes(k));
  const pool: AugmentedSample[] = [];
  for (const base of samples) {
    pool.push({ id: base.id, label: base.label, baseId: base.id, augmentation: 'base', load: () => base.load() });
    for (const kind of kinds) {
      const seed = deriveSeed(config.seed, base.id, kind);
      let memo: Promise<Float32Array> | undefined;
      const make = () => base.load().then((data) => augmentVolume(data, shape, kind, seed, config));
      pool.push({
        id: `${base.id}_${kind}`,
        label: base.label,
        baseId: base.id,
        augmentation: kind,
        load: () => {
          if (!config.memoize) return make();
          const pending = (memo ??= make().catch((err: unknown) => {
            memo = undefined;
            throw err;
          }));
          return pending.then((d) => d.slice());
        },
      });
    }
  }
  const count = (list: readonly AugmentedSample[]) => {
    const positive = list.filter((s) => s.label === 1).length;
    return { positive, negative: list.length - positive };
  };
  const before = count(pool);
  let dropped: string[] = [];
  let kept = pool;
  if (config.balance && before.positive !== before.negative) {
    const majority = before.negative > before.positive ? 0 : 1;
    const excess = Math.abs(before.negative - before.positive);
    const candidates = pool.filter((s) => s.label === majority);
    const order = new RandomState(config.seed).permutation(candidates);
    dropped = order.slice(order.length - excess).map((s) => s.id);
    const gone = new Set(dropped);
    kept = pool.filter((s) => !gone.has(s.id));
  }
  return { samples: kept, dropped, counts: { before, after: count(kept) }, config };
}
