// Public exports of lib/train. lib/index.ts re-exports everything here.
export {};
