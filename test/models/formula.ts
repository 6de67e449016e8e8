// The deterministic weights and inputs that scripts/fixtures/networks/make_fixtures.py computes in
// PyTorch: each tensor filled from an integer hash of its flat index, seeded by its name. Both sides compute
// the same integers, then the same float64 operations rounded to float32: identical bits.

export { nameSeed, hashUniform, formula, formulaStateDict, makeInput } from '../../scripts/fixtures/networks/formula.mjs';

/** Largest |a - b| relative to the largest |b| (the reference's scale). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
  }
  return scale === 0 ? err : err / scale;
}

export interface Summary {
  head: number[];
  sum: number;
  absSum: number;
  numel: number;
}

export function summarise(data: ArrayLike<number>): Summary {
  let sum = 0;
  let absSum = 0;
  for (let i = 0; i < data.length; i++) {
    sum += data[i];
    absSum += Math.abs(data[i]);
  }
  return { head: Array.from({ length: Math.min(16, data.length) }, (_, i) => data[i]), sum, absSum, numel: data.length };
}
