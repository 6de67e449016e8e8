/**
 * The radiomics extractor: a volume and a mask in, PyRadiomics's first-order, GLCM, GLSZM and
 * NGTDM features (and their matrices) out.
 * @module
 */
import { RadiomicsSchema, type RadiomicsConfig, type RadiomicsOptions } from '../config/radiomics.js';
import {
  firstOrderFeatures,
  glcmFeatures,
  glszmFeatures,
  ngtdmFeatures,
  type FirstOrderFeature,
  type GlcmFeature,
  type GlszmFeature,
  type NgtdmFeature,
} from './features.js';
import { computeGlcm, computeGlszm, computeNgtdm, type GlcmMatrices, type GlszmMatrix, type NgtdmMatrix } from './matrices.js';
import { discretise, RadiomicsError, selectRoi, type Discretised, type RadiomicsVolume, type Roi } from './roi.js';

/** What {@link extractRadiomics} returns; a class is present when it was requested. */
export interface RadiomicsResult {
  firstorder?: Record<FirstOrderFeature, number>;
  glcm?: Record<GlcmFeature, number>;
  glszm?: Record<GlszmFeature, number>;
  ngtdm?: Record<NgtdmFeature, number>;
  /** The texture matrices the features came from. */
  matrices: { glcm?: GlcmMatrices; glszm?: GlszmMatrix; ngtdm?: NgtdmMatrix };
  /** ROI voxels. */
  voxelCount: number;
  /** Gray levels present after discretisation. */
  grayLevels: Int32Array;
  /** The resolved settings. */
  config: RadiomicsConfig;
}

/** A region prepared for the feature classes: the cropped ROI and its gray levels. */
export interface PreparedRegion {
  roi: Roi;
  /** The image's voxel size along [D, H, W], when known. */
  spacing?: readonly number[];
  discretised: Discretised;
  config: RadiomicsConfig;
}

/**
 * Selects and discretises the region once, for computing several classes or matrices from it.
 * @param image [D, H, W] intensities (any numeric array), spacing in mm (TotalEnergy only)
 * @param mask [D, H, W] label map of the image's shape
 * @param options see {@link RadiomicsSchema}
 * @throws TypeError/RangeError for malformed input or a mask of another shape; RadiomicsError
 *   `ERR_EMPTY_ROI` for an empty region.
 */
export function prepareRegion(image: RadiomicsVolume, mask: RadiomicsVolume, options: RadiomicsOptions = {}): PreparedRegion {
  const config = RadiomicsSchema.parse(options);
  const roi = selectRoi(image, mask, config.label);
  return { roi, discretised: discretise(roi, config), config, spacing: image.spacing };
}

/**
 * Extracts PyRadiomics's features of the requested classes (all four by default) from the region
 * of `mask` equal to `options.label` (PyRadiomics's defaults: binWidth 25, voxelArrayShift 0, 3D,
 * 13 directions at distance 1, symmetrical GLCM averaged over directions, 26-connected zones,
 * 26-neighbourhood NGTDM; no resampling, normalisation or filtering).
 * @example
 * const { firstorder, glcm } = extractRadiomics({ data, shape: [155, 240, 240] }, { data: seg, shape: [155, 240, 240] }, { label: [1, 4] });
 * @throws as {@link prepareRegion}; RadiomicsError `ERR_NO_NEIGHBOURS` when GLCM or NGTDM is
 *   requested and no two ROI voxels touch (PyRadiomics returns NaN there).
 * @see https://pyradiomics.readthedocs.io/en/latest/features.html
 */
export function extractRadiomics(image: RadiomicsVolume, mask: RadiomicsVolume, options: RadiomicsOptions = {}): RadiomicsResult {
  return extractFromRegion(prepareRegion(image, mask, options));
}

/** {@link extractRadiomics} on a region from {@link prepareRegion}. */
export function extractFromRegion(region: PreparedRegion): RadiomicsResult {
  const { roi, discretised, config } = region;
  const result: RadiomicsResult = {
    matrices: {},
    voxelCount: roi.roiValues.length,
    grayLevels: discretised.grayLevels,
    config,
  };
  const classes = new Set(config.classes);
  if (classes.has('firstorder')) result.firstorder = firstOrderFeatures(roi, discretised, config.voxelArrayShift);
  if (classes.has('glcm')) {
    const glcm = computeGlcm(roi, discretised, {
      symmetrical: config.symmetricalGLCM,
      weightingNorm: config.weightingNorm,
      spacing: region.spacing,
    });
    if (glcm.matrices.length === 0) throw noNeighbours('GLCM', roi);
    result.matrices.glcm = glcm;
    result.glcm = glcmFeatures(glcm, discretised.maxLevel);
  }
  if (classes.has('glszm')) {
    const glszm = computeGlszm(roi, discretised);
    result.matrices.glszm = glszm;
    result.glszm = glszmFeatures(glszm);
  }
  if (classes.has('ngtdm')) {
    const ngtdm = computeNgtdm(roi, discretised);
    if (ngtdm.grayLevels.length === 0) throw noNeighbours('NGTDM', roi);
    result.matrices.ngtdm = ngtdm;
    result.ngtdm = ngtdmFeatures(ngtdm);
  }
  return result;
}

function noNeighbours(kind: string, roi: Roi): RadiomicsError {
  return new RadiomicsError(
    'ERR_NO_NEIGHBOURS',
    `${kind} features need two touching ROI voxels, but none of the ${roi.roiValues.length} ROI voxel(s) has an ROI neighbour`,
  );
}

/**
 * The features as one flat record named `<class>_<feature>` (PyRadiomics's names without its
 * `original_` prefix), in class order.
 */
export function flattenFeatures(result: RadiomicsResult): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const cls of ['firstorder', 'glcm', 'glszm', 'ngtdm'] as const) {
    const features = result[cls];
    if (!features) continue;
    for (const [name, value] of Object.entries(features)) flat[`${cls}_${name}`] = value;
  }
  return flat;
}
