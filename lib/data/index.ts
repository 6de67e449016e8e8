// Public exports of lib/data. lib/index.ts re-exports everything here.
export {};
