/**
 * Gumbel-averaged prediction: how a SpotTune fold model becomes probabilities (docs/study.md
 * section 5, evaluation). SpotTune's agent samples its policy with Gumbel noise at test time too,
 * so one forward pass is one draw; the study averages `samples` draws per patient (the paper's 100),
 * draw s seeded `seed + s`. The ResNets are deterministic in eval mode: one pass.
 *
 * Then the fold models of one (network, modality) average into its derivative model
 * ({@link averageFoldPredictions}), which lib/eval/ensemble.ts combines into the ensembles.
 * @module
 */
import { checkInteger, checkShape, describeValue } from '../util/validate.js';
import { averageFolds, meanOf, type PatientProbabilities } from './ensemble.js';

/** What Gumbel-averaged prediction needs of a network: the {@link Network} of lib/models satisfies it. */
export interface GumbelPredictor {
  readonly isSpotTune: boolean;
  predict(
    input: Float32Array,
    shape: readonly number[],
    options?: { seed?: number; policy?: 'sample' | 'argmax' },
  ): Promise<{ probabilities: Float32Array; policy?: Uint8Array }>;
}

/** Options of {@link predictGumbelAveraged}. */
export interface GumbelAverageOptions {
  /** Gumbel draws averaged per patient (SpotTune only; the ResNets take one pass). */
  samples: number;
  /** Seed of draw 0; draw s uses `seed + s`. */
  seed: number;
  /** Volumes per forward pass. */
  batchSize: number;
}

/** One fold model's predictions on a list of volumes. */
export interface FoldPrediction {
  /** Per volume: the mean probability over the draws. */
  probabilities: number[];
  /** SpotTune: per volume, per block, the fraction of draws routed through the fine-tuned copy. */
  policy?: number[][];
}

/**
 * Predicts `volumes` with one fold model: for SpotTune the mean over `samples` Gumbel draws
 * (seeds `seed`, `seed + 1`, ...), with the share of draws that sent each volume through each
 * fine-tuned block; for the ResNets one deterministic pass. Sums run in float64.
 * @param volumes one float32 [D, H, W] volume per patient
 * @param shape [D, H, W]
 * @throws TypeError/RangeError for malformed volumes or options
 */
export async function predictGumbelAveraged(
  network: GumbelPredictor,
  volumes: readonly Float32Array[],
  shape: readonly number[],
  options: GumbelAverageOptions,
): Promise<FoldPrediction> {
  if (!network || typeof network.predict !== 'function')
    throw new TypeError(`Expected network to be a Network but received ${describeValue(network)}`);
  const [D, H, W] = checkShape(shape, 'shape', { rank: 3 });
  if (!options || typeof options !== 'object')
    throw new TypeError(`Expected options {samples, seed, batchSize} but received ${describeValue(options)}`);
  const samples = network.isSpotTune ? checkInteger(options.samples, 'options.samples', { min: 1 }) : 1;
  const seed = checkInteger(options.seed, 'options.seed', { min: 0, max: Number.MAX_SAFE_INTEGER });
  const batchSize = checkInteger(options.batchSize, 'options.batchSize', { min: 1 });
  const voxels = D * H * W;
  volumes.forEach((v, i) => {
    if (!(v instanceof Float32Array) || v.length !== voxels)
      throw new RangeError(
        `Expected volumes[${i}] to be a Float32Array of ${D} x ${H} x ${W} = ${voxels} values but received ${describeValue(v)}`,
      );
  });
  const probabilities: number[] = [];
  const policy: number[][] = [];
  for (let start = 0; start < volumes.length; start += batchSize) {
    const batch = volumes.slice(start, start + batchSize);
    const input = new Float32Array(batch.length * voxels);
    batch.forEach((v, i) => input.set(v, i * voxels));
    const sums = new Float64Array(batch.length);
    let counts: Float64Array | undefined;
    for (let s = 0; s < samples; s++) {
      const p = await network.predict(input, [batch.length, 1, D, H, W], network.isSpotTune ? { policy: 'sample', seed: seed + s } : {});
      for (let i = 0; i < batch.length; i++) sums[i] += p.probabilities[i];
      if (p.policy) {
        counts ??= new Float64Array(p.policy.length);
        for (let j = 0; j < p.policy.length; j++) counts[j] += p.policy[j];
      }
    }
    for (let i = 0; i < batch.length; i++) probabilities.push(sums[i] / samples);
    if (counts) {
      const blocks = counts.length / batch.length;
      for (let i = 0; i < batch.length; i++) policy.push(Array.from(counts.subarray(i * blocks, (i + 1) * blocks), (c) => c / samples));
    }
  }
  return { probabilities, ...(policy.length > 0 ? { policy } : {}) };
}

/** One fold model's predictions for named patients (what {@link averageFoldPredictions} takes). */
export interface PatientFoldPrediction extends PatientProbabilities {
  /** SpotTune: [patient][block] routing shares, in `patients` order. */
  policy?: number[][];
}

/** A derivative model: its fold models averaged. */
export interface DerivativePrediction extends PatientProbabilities {
  /** SpotTune: [patient][block] share of draws and folds routed through the fine-tuned block. */
  policyFractions?: number[][];
}

/**
 * Averages the fold models of one (network, modality) into its derivative model: the mean of the
 * probabilities per patient and, for SpotTune, of the routing shares (each fold weighing the same).
 * Patients follow the first fold's order; the others may list them in any order.
 * @throws RangeError when there is no fold, a fold misses a patient, or only some folds carry a policy
 */
export function averageFoldPredictions(folds: readonly PatientFoldPrediction[]): DerivativePrediction {
  const averaged = averageFolds(folds);
  const withPolicy = folds.filter((f) => f.policy);
  if (withPolicy.length === 0) return averaged;
  if (withPolicy.length !== folds.length)
    throw new RangeError(`Expected every fold model to carry a policy but ${folds.length - withPolicy.length} of ${folds.length} do not`);
  const indices = folds.map((f) => new Map(f.patients.map((p, i) => [p, i])));
  const policyFractions = averaged.patients.map((patient) =>
    meanOf(
      folds.map((f, k) => f.policy![indices[k].get(patient)!]),
      `fold policies of patient ${patient}`,
    ),
  );
  return { ...averaged, policyFractions };
}
