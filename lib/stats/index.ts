// Public exports of lib/stats. lib/index.ts re-exports everything here.
export * from './metrics.js';
export * from './confidence.js';
export * from './friedman.js';
export * from './distributions.js';
