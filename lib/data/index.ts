// Public exports of lib/data. lib/index.ts re-exports everything here.
export * from './transforms/index.js';
export { expandTrainingSet, augmentVolume, type VolumeSample, type AugmentedSample, type ExpandedTrainingSet } from './augment.js';
export { RandomState } from '../util/random-state.js';
export {
  trainTestSplitIndices,
  kFoldIndices,
  type ClassLabels,
  type IndexSplit,
  type TrainTestSplitOptions,
  type KFoldOptions,
} from './split-sklearn.js';
export {
  makeStudySplits,
  loadOrMakeStudySplits,
  readSplits,
  writeSplits,
  type SplitPatient,
  type Splits,
  type GroupSplit,
  type FoldSplit,
  type StudySplitOptions,
} from './splits.js';
export {
  openCohort,
  readClinicalCsv,
  parseCsv,
  summarizeCohort,
  type Cohort,
  type CohortPatient,
  type CohortGroup,
  type MgmtStatus,
  type MaskSource,
  type OpenCohortOptions,
} from './cohort.js';
export {
  applyMask,
  cropVolume,
  maskCropConvert,
  rescaledShape,
  gaussianKernel,
  gaussianFilter,
  zoomLinear,
  imgAsFloat,
  rescaleVolume,
  minMaxScale,
  padTo,
  presetCropBox,
  tumourBox,
  unionBox,
  preparedShape,
  preprocessVolume,
  maskRegion,
  resolvePreprocess,
  type MaskRegion,
  type PreprocessResult,
  type PreprocessInput,
  type RescaleOptions,
  type SkipCode,
  type RealArray,
  type Shape3,
} from './preprocess/index.js';
export { readNpy, writeNpy } from '../io/npy.js';
export {
  prepareCohort,
  openCache,
  type PreparedCohort,
  type PreparedPatient,
  type SkippedVolume,
  type CacheManifest,
  type PrepareOptions,
  type PrepareProgress,
  type PrepareResult,
} from './cache.js';
export { synthCohort, type SynthCohortResult, type SynthProgress } from './synth.js';
export {
  openDataset,
  detectLayout,
  bratsManifest,
  foldersManifest,
  cohortOfManifest,
  manifestOfCohort,
  CohortError,
  LAYOUTS,
  type Layout,
  type Dataset,
  type OpenDatasetOptions,
} from './cohort/layouts.js';
export {
  readManifest,
  parseManifestCsv,
  parseManifestJson,
  ManifestError,
  BRATS_REGIONS,
  type CohortManifest,
  type ManifestPatient,
  type ManifestIssue,
  type Endpoint,
  type ManifestCsvOptions,
} from './cohort/manifest.js';
