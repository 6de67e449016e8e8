// Public exports of lib/eval. lib/index.ts re-exports everything here.
export { meanOf, averageFolds, select, ensemble, scoreProbabilities, type PatientProbabilities, type EnsembleScores, type ScoreOptions } from './ensemble.js';
