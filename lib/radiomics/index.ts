// Public exports of lib/radiomics. lib/index.ts re-exports everything here.
export {};
