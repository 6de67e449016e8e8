// Public exports of lib/radiomics. lib/index.ts re-exports everything here.
export {
  extractRadiomics,
  extractFromRegion,
  prepareRegion,
  flattenFeatures,
  type RadiomicsResult,
  type PreparedRegion,
} from './extract.js';
export {
  FIRST_ORDER_FEATURES,
  GLCM_FEATURES,
  GLSZM_FEATURES,
  NGTDM_FEATURES,
  firstOrderFeatures,
  glcmFeatures,
  glszmFeatures,
  ngtdmFeatures,
  type FirstOrderFeature,
  type GlcmFeature,
  type GlszmFeature,
  type NgtdmFeature,
} from './features.js';
export {
  GLCM_DIRECTIONS,
  computeGlcm,
  computeGlszm,
  computeNgtdm,
  type GlcmMatrices,
  type GlszmMatrix,
  type NgtdmMatrix,
} from './matrices.js';
export {
  RadiomicsError,
  selectRoi,
  locateRegion,
  locateRegions,
  roiOf,
  discretise,
  binEdges,
  type RadiomicsVolume,
  type RegionMask,
  type Roi,
  type Discretised,
  type NumericArray,
} from './roi.js';
export { RandomForestClassifier, type DecisionTree } from './random-forest.js';
export {
  STUDY_FEATURES,
  TUMOUR_REGIONS,
  studyFeatures,
  studyFeatureRow,
  radiomicsBaseline,
  type StudyFeature,
  type TumourRegion,
  type PatientVolumes,
  type FeatureExclusion,
  type StudyFeatureValues,
  type RadiomicsBaselineInput,
} from './study.js';
export {
  extractCohortRadiomics,
  cohortFeaturesToCsv,
  type CohortFeatures,
  type CohortFeatureRow,
  type CohortRadiomicsOptions,
} from './cohort.js';
