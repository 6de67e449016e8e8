// Public exports of lib/data. lib/index.ts re-exports everything here.
export {};
export { RandomState } from '../util/random-state.js';
export { trainTestSplitIndices, kFoldIndices, type ClassLabels, type IndexSplit, type TrainTestSplitOptions, type KFoldOptions } from './split-sklearn.js';
export { makeStudySplits, loadOrMakeStudySplits, readSplits, writeSplits, type SplitPatient, type Splits, type GroupSplit, type FoldSplit, type StudySplitOptions } from './splits.js';
