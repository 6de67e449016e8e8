// Public exports of lib/io. lib/index.ts re-exports everything here.
export {};
