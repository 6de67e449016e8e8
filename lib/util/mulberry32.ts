/**
 * mulberry32: a small, fast, seedable PRNG, uniform in [0, 1). Used where a stream must be
 * reproducible from a seed but need not match numpy (the synthetic cohort, seeded fuzzing); numpy's
 * generator is lib/util/random-state.ts.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
