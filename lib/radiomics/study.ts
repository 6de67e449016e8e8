/**
 * The study's radiomics baseline: six features, each from one modality and tumour region of the
 * original (not downscaled) UPENN-GBM volumes, into a random forest.
 * @see docs/study.md section 9 (after Li et al. 2018, Eur Radiol 28:3640)
 * @module
 */
import { RadiomicsSchema, RandomForestSchema, type RadiomicsOptions, type RandomForestOptions } from '../config/radiomics.js';
import { describeValue } from '../util/validate.js';
import { firstOrderFeatures, glcmFeatures, glszmFeatures, ngtdmFeatures } from './features.js';
import { computeGlcm, computeGlszm, computeNgtdm } from './matrices.js';
import { RandomForestClassifier } from './random-forest.js';
import { discretise, locateRegions, RadiomicsError, roiOf, type RadiomicsVolume } from './roi.js';

/**
 * UPENN-GBM tumour regions as label sets of the segmentation (1 necrotic core, 2 oedema/invasion,
 * 4 enhancing): the study's "core" is 1 ∪ 4, "whole" every tumour label.
 */
export const TUMOUR_REGIONS = {
  necrotic: [1],
  enhancing: [4],
  core: [1, 4],
  oedema: [2],
  whole: [1, 2, 4],
} as const satisfies Record<string, readonly number[]>;
/** The name of one of the {@link TUMOUR_REGIONS}. */
export type TumourRegion = keyof typeof TUMOUR_REGIONS;

/**
 * The label sets of the named regions, for {@link locateRegions}: the study's (UPENN-GBM and
 * BraTS share labels 1, 2, 4), or a cohort's own region definitions.
 * @throws RangeError when `definitions` lacks a named region
 */
export function pickRegions(
  names: readonly TumourRegion[],
  definitions: Readonly<Record<string, readonly number[]>> = TUMOUR_REGIONS,
): Record<TumourRegion, readonly number[]> {
  const out = {} as Record<TumourRegion, readonly number[]>;
  for (const name of names) {
    if (!definitions[name])
      throw new RangeError(
        `The region definitions lack ${JSON.stringify(name)} (the study's features need ${Object.keys(TUMOUR_REGIONS).join(', ')}); they define ${Object.keys(definitions).join(', ')}`,
      );
    out[name] = definitions[name];
  }
  return out;
}

/** One feature of the baseline: where it is measured and which PyRadiomics feature it is. */
export interface StudyFeature {
  /** Column name: `<modality>_<region>_<class>_<feature>`. */
  name: string;
  modality: 'T1' | 'T1GD' | 'T2' | 'FLAIR';
  region: TumourRegion;
  featureClass: 'firstorder' | 'glcm' | 'glszm' | 'ngtdm';
  feature: string;
}

/** The six features of the study's baseline, in the paper's order. */
export const STUDY_FEATURES: readonly StudyFeature[] = [
  { name: 'T1_core_firstorder_Skewness', modality: 'T1', region: 'core', featureClass: 'firstorder', feature: 'Skewness' },
  { name: 'T1_oedema_firstorder_Energy', modality: 'T1', region: 'oedema', featureClass: 'firstorder', feature: 'Energy' },
  { name: 'FLAIR_necrotic_glcm_Contrast', modality: 'FLAIR', region: 'necrotic', featureClass: 'glcm', feature: 'Contrast' },
  {
    name: 'T1GD_enhancing_glszm_GrayLevelVariance',
    modality: 'T1GD',
    region: 'enhancing',
    featureClass: 'glszm',
    feature: 'GrayLevelVariance',
  },
  {
    name: 'T2_oedema_glszm_LowGrayLevelZoneEmphasis',
    modality: 'T2',
    region: 'oedema',
    featureClass: 'glszm',
    feature: 'LowGrayLevelZoneEmphasis',
  },
  { name: 'T2_core_ngtdm_Busyness', modality: 'T2', region: 'core', featureClass: 'ngtdm', feature: 'Busyness' },
];

/** One patient's original volumes: the segmentation and the structural modalities, one grid. */
export interface PatientVolumes {
  /** UPENN-GBM labels 0, 1, 2, 4. */
  segmentation: RadiomicsVolume;
  T1?: RadiomicsVolume;
  T1GD?: RadiomicsVolume;
  T2?: RadiomicsVolume;
  FLAIR?: RadiomicsVolume;
}

/** Why a feature could not be computed for a patient. */
export interface FeatureExclusion {
  feature: string;
  /** `ERR_EMPTY_ROI`, `ERR_NO_NEIGHBOURS` or `ERR_MISSING_MODALITY`. */
  code: string;
  reason: string;
}

/** What {@link studyFeatures} returns. */
export interface StudyFeatureValues {
  /** The features that could be computed, by {@link StudyFeature.name}. */
  values: Record<string, number>;
  /** The others, with the reason; a patient with any exclusion cannot enter the forest. */
  excluded: FeatureExclusion[];
}

/**
 * Computes the six features of the study's baseline for one patient. Empty regions (e.g. no
 * necrosis), a region without two touching voxels for a texture class, or a missing modality give
 * an exclusion with its reason instead of a value; malformed input (a volume of another shape)
 * throws.
 * @param volumes the original volumes, [D, H, W] each (e.g. 155 x 240 x 240)
 * @param options extractor settings (PyRadiomics defaults: binWidth 25, voxelArrayShift 0)
 * @param regions the label values of each region (a cohort's `regions`); default the study's {@link TUMOUR_REGIONS}
 * @throws TypeError/RangeError for malformed volumes, or region definitions lacking a needed region
 */
export function studyFeatures(
  volumes: PatientVolumes,
  options: Omit<RadiomicsOptions, 'label' | 'classes'> = {},
  regions: Readonly<Record<string, readonly number[]>> = TUMOUR_REGIONS,
): StudyFeatureValues {
  if (!volumes || typeof volumes !== 'object' || !volumes.segmentation) {
    throw new TypeError(`Expected volumes to hold a segmentation but received ${describeValue(volumes)}`);
  }
  const config = RadiomicsSchema.parse(options);
  const needed = [...new Set(STUDY_FEATURES.filter((f) => volumes[f.modality]).map((f) => f.region))];
  const located = locateRegions(volumes.segmentation, pickRegions(needed, regions));
  const values: Record<string, number> = {};
  const excluded: FeatureExclusion[] = [];
  for (const spec of STUDY_FEATURES) {
    const image = volumes[spec.modality];
    if (!image) {
      excluded.push({ feature: spec.name, code: 'ERR_MISSING_MODALITY', reason: `no ${spec.modality} volume` });
      continue;
    }
    const region = located[spec.region];
    if (region instanceof RadiomicsError) {
      excluded.push({
        feature: spec.name,
        code: region.code,
        reason: `${spec.region} region (labels ${regions[spec.region].join(', ')}) is empty`,
      });
      continue;
    }
    try {
      values[spec.name] = featureOf(spec, roiOf(image, region), config);
    } catch (err) {
      if (!(err instanceof RadiomicsError)) throw err;
      excluded.push({ feature: spec.name, code: err.code, reason: err.message });
    }
  }
  return { values, excluded };
}

function featureOf(spec: StudyFeature, roi: ReturnType<typeof roiOf>, config: ReturnType<typeof RadiomicsSchema.parse>): number {
  const disc = discretise(roi, config);
  switch (spec.featureClass) {
    case 'firstorder':
      return firstOrderFeatures(roi, disc, config.voxelArrayShift)[spec.feature as 'Energy'];
    case 'glcm': {
      const glcm = computeGlcm(roi, disc, { symmetrical: config.symmetricalGLCM, weightingNorm: config.weightingNorm });
      if (glcm.matrices.length === 0)
        throw new RadiomicsError('ERR_NO_NEIGHBOURS', `${spec.region} region has no two touching voxels for GLCM`);
      return glcmFeatures(glcm, disc.maxLevel)[spec.feature as 'Contrast'];
    }
    case 'glszm':
      return glszmFeatures(computeGlszm(roi, disc))[spec.feature as 'GrayLevelVariance'];
    case 'ngtdm': {
      const ngtdm = computeNgtdm(roi, disc);
      if (ngtdm.grayLevels.length === 0)
        throw new RadiomicsError('ERR_NO_NEIGHBOURS', `${spec.region} region has no two touching voxels for NGTDM`);
      return ngtdmFeatures(ngtdm)[spec.feature as 'Busyness'];
    }
  }
}

/** Inputs of {@link radiomicsBaseline}. */
export interface RadiomicsBaselineInput {
  /** Training rows, one per patient, the six features in {@link STUDY_FEATURES} order. */
  trainFeatures: ArrayLike<ArrayLike<number>>;
  /** MGMT labels of the training patients (1 methylated, 0 unmethylated). */
  trainLabels: ArrayLike<number | boolean>;
  /** Test rows, same columns. */
  testFeatures: ArrayLike<ArrayLike<number>>;
  /** Seed of the forest; the study's seed by default. */
  seed?: number;
  /** Other forest settings; the study's by default (10,000 trees, depth 5, 10 rows per leaf). */
  forest?: RandomForestOptions;
}

/**
 * The study's baseline model: a random forest (10,000 trees, maximum depth 5, at least 10 rows
 * per leaf, seeded) trained on the training patients' six features, returning P(methylated) for
 * each test patient. Patients with an excluded feature must be left out by the caller (the paper
 * scored 54 of 57 test patients).
 * @throws TypeError/RangeError for malformed rows or labels
 */
export function radiomicsBaseline(input: RadiomicsBaselineInput): Float64Array {
  const options = RandomForestSchema.parse({ ...input.forest, ...(input.seed === undefined ? {} : { seed: input.seed }) });
  return new RandomForestClassifier(options).fit(input.trainFeatures, input.trainLabels).predictProba(input.testFeatures);
}

/** The row of {@link radiomicsBaseline} for a patient's {@link studyFeatures}, or null when any is excluded. */
export function studyFeatureRow(features: StudyFeatureValues): number[] | null {
  if (features.excluded.length > 0) return null;
  return STUDY_FEATURES.map((f) => features.values[f.name]);
}
