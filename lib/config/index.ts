// Public exports of lib/config. lib/index.ts re-exports everything here.
export * from './radiomics.js';
export * from './train.js';
export * from './data.js';
export * from './experiment.js';
export * from './queue.js';
export * from './model.js';
export * from './device.js';
export * from './demo.js';
