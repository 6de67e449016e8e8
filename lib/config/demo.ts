/**
 * The demo's settings (`spottune demo`, `npm run demo`): not the study's values, the smallest run
 * of its whole protocol that still means something on a 2-core CPU.
 * @module
 */

/**
 * The demo's own values (not the study's): a cohort large enough that the common test set has both
 * classes, a signal strong enough to learn in a few epochs, one training per core of a 2-core CPU.
 */
export const DEMO_DEFAULTS = {
  out: 'demo-out',
  patients: 64,
  seed: 42,
  signal: 4,
  concurrency: 2,
} as const;
