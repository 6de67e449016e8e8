/**
 * Settings of the radiomics extractor and of the study's random-forest baseline. Defaults live
 * here only; each cites where it comes from.
 * @module
 */
import { z } from 'zod';

/**
 * PyRadiomics's defaults (radiomics/imageoperations.py and the feature classes, v3.x), which the
 * extractor reproduces.
 * @see https://pyradiomics.readthedocs.io/en/latest/customization.html
 */
export const PYRADIOMICS_DEFAULTS = {
  /** Fixed bin width of the texture discretisation (`binWidth`). */
  binWidth: 25,
  /** Added to intensities before Energy, TotalEnergy and RootMeanSquared (`voxelArrayShift`); 0 since PyRadiomics 2.0. */
  voxelArrayShift: 0,
  /** ROI label value (`label`). */
  label: 1,
  /** GLCM symmetry (`symmetricalGLCM`). */
  symmetricalGLCM: true,
} as const;

/**
 * The radiomics baseline of the study (Schmitz et al. 2024, section "Radiomics baseline", after
 * Li et al. 2018, Eur Radiol 28:3640): six features into a random forest.
 */
export const RADIOMICS_STUDY = {
  /** scikit-learn `n_estimators=10000` (paper, radiomics baseline). */
  nEstimators: 10_000,
  /** `max_depth=5` (paper). */
  maxDepth: 5,
  /** `min_samples_leaf=10` (paper). */
  minSamplesLeaf: 10,
  /** Not stated by the paper: scikit-learn's default for classifiers, `max_features="sqrt"`. */
  maxFeatures: 'sqrt',
  /** The study seeds every split with 42 (docs/study.md section 4). */
  seed: 42,
} as const;

/** Options of {@link extractRadiomics} (PyRadiomics's setting names). */
export const RadiomicsSchema = z
  .object({
    binWidth: z
      .number()
      .positive()
      .default(PYRADIOMICS_DEFAULTS.binWidth)
      .describe('Fixed bin width for discretising intensities (PyRadiomics binWidth)'),
    binCount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Fixed bin count instead of binWidth (PyRadiomics binCount); overrides binWidth when set'),
    voxelArrayShift: z
      .number()
      .default(PYRADIOMICS_DEFAULTS.voxelArrayShift)
      .describe('Added to intensities for Energy, TotalEnergy and RootMeanSquared (PyRadiomics voxelArrayShift)'),
    label: z
      .union([z.number().int(), z.array(z.number().int()).min(1)])
      .default(PYRADIOMICS_DEFAULTS.label)
      .describe('Mask value(s) forming the region of interest; several values form their union'),
    symmetricalGLCM: z
      .boolean()
      .default(PYRADIOMICS_DEFAULTS.symmetricalGLCM)
      .describe('Count each GLCM pair in both orders (PyRadiomics symmetricalGLCM)'),
    weightingNorm: z
      .enum(['manhattan', 'euclidean', 'infinity', 'no_weighting'])
      .nullable()
      .default(null)
      .describe(
        'Merge the GLCM directions with distance weights before computing features (PyRadiomics weightingNorm); null averages per-direction features',
      ),
    classes: z
      .array(z.enum(['firstorder', 'glcm', 'glszm', 'ngtdm']))
      .min(1)
      .default(['firstorder', 'glcm', 'glszm', 'ngtdm'])
      .describe('Feature classes to compute'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof RadiomicsSchema>.
import type { RadiomicsOptions } from './options.js';
export type { RadiomicsOptions };
/** {@link RadiomicsOptions} resolved by RadiomicsSchema: every default filled in; what the code downstream receives. */
export type RadiomicsConfig = z.output<typeof RadiomicsSchema>;

/** Options of the random forest ({@link RandomForestClassifier}); scikit-learn's names in camelCase. */
export const RandomForestSchema = z
  .object({
    nEstimators: z.number().int().positive().default(RADIOMICS_STUDY.nEstimators).describe('Number of trees'),
    maxDepth: z
      .number()
      .int()
      .positive()
      .nullable()
      .default(RADIOMICS_STUDY.maxDepth)
      .describe('Maximum tree depth; null grows until the leaf rules stop it'),
    minSamplesLeaf: z
      .number()
      .int()
      .positive()
      .default(RADIOMICS_STUDY.minSamplesLeaf)
      .describe('Minimum distinct training rows in a leaf (scikit-learn min_samples_leaf)'),
    minSamplesSplit: z.number().int().min(2).default(2).describe('Minimum distinct training rows to split a node (scikit-learn default)'),
    maxFeatures: z
      .union([z.enum(['sqrt', 'log2', 'all']), z.number().int().positive()])
      .default(RADIOMICS_STUDY.maxFeatures)
      .describe('Features drawn per split'),
    bootstrap: z.boolean().default(true).describe('Grow each tree on a bootstrap sample (scikit-learn default)'),
    seed: z.number().int().nonnegative().default(RADIOMICS_STUDY.seed).describe('Seed of bootstrap and feature draws'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof RandomForestSchema>.
import type { RandomForestOptions } from './options.js';
export type { RandomForestOptions };
/** {@link RandomForestOptions} resolved by RandomForestSchema: every default filled in; what the code downstream receives. */
export type RandomForestConfig = z.output<typeof RandomForestSchema>;
