// Public exports of lib/eval. lib/index.ts re-exports everything here.
export { meanOf, averageFolds, select, ensemble, type PatientProbabilities } from './ensemble.js';
