// Public exports of lib/eval. lib/index.ts re-exports everything here.
export {};
