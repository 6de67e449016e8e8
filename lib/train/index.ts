// Public exports of lib/train. lib/index.ts re-exports everything here.
export {
  Trainer,
  tauAt,
  metricsCsv,
  type TrainerOptions,
  type TrainerEvents,
  type TrainResult,
  type EpochRecord,
  type TrainableNetwork,
  type TrainableSchedulerState,
} from './trainer.js';
export { passMetrics, bceWithLogits, type PassMetrics } from './metrics.js';
export { prepareFoldTraining, type FoldTrainingOptions, type FoldTraining } from './fold.js';
