/**
 * Seeded randomness for the transforms and the trainer: numpy's legacy `RandomState` (MT19937,
 * bit for bit) plus its `randn` (the polar Box-Muller method with a cached second value), so that
 * `np.random.seed(s); np.random.randn(...)` and `new AugmentRng(s).randn(...)` draw the same numbers.
 * @module
 */
import { RandomState } from '../../util/random-state.js';
import { checkInteger } from '../../util/validate.js';

/** A seeded generator: numpy's RandomState with `randn`. */
export class AugmentRng extends RandomState {
  #gauss: number | undefined;

  /** @param seed an integer in [0, 2^32 - 1] */
  constructor(seed: number) {
    super(checkInteger(seed, 'seed', { min: 0, max: 0xffffffff }));
  }

  /** One standard normal draw, as numpy's legacy `standard_normal` (legacy_gauss). */
  gauss(): number {
    if (this.#gauss !== undefined) {
      const g = this.#gauss;
      this.#gauss = undefined;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.#gauss = f * x1;
    return f * x2;
  }

  /** `n` standard normal draws in order, as `np.random.randn(n)`. */
  randn(n: number): Float64Array {
    const out = new Float64Array(checkInteger(n, 'n', { min: 0 }));
    for (let i = 0; i < out.length; i++) out[i] = this.gauss();
    return out;
  }

  /** A uniform double in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.randomSample();
  }
}

/**
 * A 32-bit seed derived from a base seed and labels (FNV-1a over their text), so that each
 * (patient, augmentation) pair gets its own stream independent of iteration order.
 */
export function deriveSeed(seed: number, ...labels: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}\u0000${labels.join('\u0000')}`) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
