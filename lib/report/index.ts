// Public exports of lib/report. lib/index.ts re-exports everything here.
export {};
