// The deterministic weights and inputs that scripts/fixtures/networks/make_fixtures.py computes in
// PyTorch: each tensor filled from an integer hash of its flat index, seeded by its name. Both sides compute
// the same integers, then the same float64 operations rounded to float32: identical bits.
import type { HostTensor, StateDict } from '../../lib/types.js';
import type { StateEntryInfo } from '../../lib/models/network.js';

export function nameSeed(name: string): number {
  let s = 0;
  for (let i = 0; i < name.length; i++) s = (s * 31 + name.charCodeAt(i)) % 100003;
  return s;
}

/**
 * Uniform values in [-1, 1) from a 32-bit integer hash (lowbias32) of seed + index: exact integer
 * arithmetic on both sides, and not low-rank as a sine of the index would be.
 */
export function hashUniform(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const base = (seed * 7919) >>> 0;
  for (let i = 0; i < n; i++) {
    let x = (i + base) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0; // `^` yields a signed int32; >>> 0 makes it unsigned again
    out[i] = x / 2147483648 - 1;
  }
  return out;
}

export function formula(name: string, shape: readonly number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (leaf === 'num_batches_tracked') return { dtype: 'int64', shape: [...shape], data: new BigInt64Array(n) };
  const v = hashUniform(nameSeed(name), n);
  const out = new Float32Array(n);
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const convScale = Math.sqrt(3.0 / fanIn);
  for (let i = 0; i < n; i++) {
    if (leaf === 'weight' && shape.length >= 2) out[i] = v[i] * convScale;
    else if (leaf === 'weight') out[i] = 0.6 + 0.1 * v[i];
    else if (leaf === 'bias' || leaf === 'running_mean') out[i] = 0.05 * v[i];
    else if (leaf === 'running_var') out[i] = 1.0 + 0.25 * (1.0 + v[i]);
    else throw new Error(`no formula for ${name}`);
  }
  return { dtype: 'float32', shape: [...shape], data: out };
}

/** A state dict for every entry of a network, from the formula. */
export function formulaStateDict(info: readonly StateEntryInfo[]): StateDict {
  return new Map(info.map((e) => [e.name, formula(e.name, e.shape)]));
}

export function makeInput(shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from(hashUniform(12345, n));
}

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
