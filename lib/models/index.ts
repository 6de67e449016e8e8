// Public exports of lib/models. lib/index.ts re-exports everything here.
export {};
export * from './medicalnet-keys.js';
export * from './medicalnet.js';
export * from './network.js';
