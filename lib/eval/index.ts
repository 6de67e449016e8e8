// Public exports of lib/eval. lib/index.ts re-exports everything here.
export { meanOf, averageFolds, select, ensemble, type PatientProbabilities } from './ensemble.js';
export {
  predictGumbelAveraged,
  averageFoldPredictions,
  type GumbelPredictor,
  type GumbelAverageOptions,
  type FoldPrediction,
  type PatientFoldPrediction,
  type DerivativePrediction,
} from './gumbel.js';
