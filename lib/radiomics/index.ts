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
export { RadiomicsError, selectRoi, discretise, binEdges, type RadiomicsVolume, type Roi, type Discretised, type NumericArray } from './roi.js';
export { RandomForestClassifier, type DecisionTree } from './random-forest.js';
