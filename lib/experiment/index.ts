// Public exports of lib/experiment. lib/index.ts re-exports everything here.
export {};
export * from './queue/index.js';
