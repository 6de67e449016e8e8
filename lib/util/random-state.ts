/**
 * numpy's legacy `RandomState`, bit for bit: the MT19937 generator with numpy's seeding, and the
 * few draws scikit-learn's splitters use (random_sample, randint, shuffle, permutation, choice
 * without replacement). With it, `new RandomState(42)` reproduces scikit-learn's
 * `random_state=42` partitions in TypeScript.
 *
 * Written from the definitions: Matsumoto & Nishimura (1998) for MT19937 (init_genrand,
 * init_by_array, genrand_int32), and numpy's documented legacy algorithms for the rest
 * (53-bit doubles from two 32-bit words; bounded integers by masked rejection; Fisher-Yates from
 * the last element down).
 * @module
 */
import { checkInteger, describeValue } from './validate.js';

const N = 624;
const M = 397;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const MATRIX_A = 0x9908b0df;

/** A numpy-compatible `RandomState` (MT19937). */
export class RandomState {
  readonly #mt = new Uint32Array(N);
  #index = N;

  /**
   * @param seed An integer in [0, 2^32 - 1] (numpy's `RandomState(int)`: init_genrand) or a
   *   non-empty array of such integers (numpy's `RandomState(array)`: init_by_array).
   * @throws {TypeError|RangeError} on any other seed
   */
  constructor(seed: number | readonly number[]) {
    if (Array.isArray(seed)) {
      if (seed.length === 0) throw new RangeError('Expected a non-empty seed array but received []');
      seed.forEach((s, i) => checkInteger(s, `seed[${i}]`, { min: 0, max: 0xffffffff }));
      this.#initByArray(seed);
    } else if (typeof seed === 'number') {
      this.#initGenrand(checkInteger(seed, 'seed', { min: 0, max: 0xffffffff }));
    } else {
      throw new TypeError(`Expected seed to be an integer or an array of integers but received ${describeValue(seed)}`);
    }
  }

  #initGenrand(seed: number): void {
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.#index = N;
  }

  #initByArray(key: readonly number[]): void {
    this.#initGenrand(19650218);
    const mt = this.#mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.#index = N;
  }

  #twist(): void {
    const mt = this.#mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.#index = 0;
  }

  /** The next 32-bit output of MT19937 (genrand_int32), as an unsigned integer. */
  nextUint32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#mt[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits, as numpy's `random_sample()`. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform integer in [0, max] by masked rejection on 32-bit words (numpy's `random_interval`). */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new RangeError(`Expected max <= 2^32 - 1 but received ${max}`);
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /**
   * A uniform integer in [low, high), as numpy's `randint(low, high)` (int64, masked rejection).
   * @throws {RangeError} when high <= low or the range exceeds 2^32
   */
  randint(low: number, high: number): number {
    checkInteger(low, 'low');
    checkInteger(high, 'high', { min: low + 1 });
    return low + this.randomInterval(high - 1 - low);
  }

  /** Shuffles `values` in place, as numpy's `RandomState.shuffle` on a 1-d array. */
  shuffle<T>(values: T[] | Int32Array | Float64Array | Uint32Array): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.randomInterval(i);
      const tmp = values[i];
      values[i] = values[j];
      values[j] = tmp;
    }
  }

  /** A shuffled copy of `values`, or of [0, 1, ..., n-1] for a number n (numpy's `permutation`). */
  permutation(n: number): number[];
  permutation<T>(values: readonly T[]): T[];
  permutation<T>(input: number | readonly T[]): (number | T)[] {
    const values: (number | T)[] =
      typeof input === 'number' ? Array.from({ length: checkInteger(input, 'n', { min: 0 }) }, (_, i) => i) : [...input];
    this.shuffle(values);
    return values;
  }

  /**
   * `size` distinct elements of `values`, as numpy's `choice(values, size, replace=False)` without
   * probabilities: the first `size` entries of `permutation(values.length)`.
   */
  choiceWithoutReplacement<T>(values: readonly T[], size: number): T[] {
    checkInteger(size, 'size', { min: 0, max: values.length });
    return this.permutation(values.length)
      .slice(0, size)
      .map((i) => values[i]);
  }
}
