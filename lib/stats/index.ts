// Public exports of lib/stats. lib/index.ts re-exports everything here.
export {};
