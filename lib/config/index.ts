// Public exports of lib/config. lib/index.ts re-exports everything here.
export {};
export * from './radiomics.js';
