/**
 * Data configuration: the UPENN-GBM modalities and groups, the study's preprocessing geometry, and
 * the synthetic cohort's settings. Every default cites its source.
 * @module
 */
import { z } from 'zod';

/**
 * The eleven UPENN-GBM derivatives used by the study, grouped, each group in the study's channel
 * order (REF `derivatives`: struct T2, FLAIR, T1, T1GD; DTI AD, FA, RD, TR; DSC ap-rCBV, PH, PSR).
 * @see docs/study.md section 2, "Things a faithful reimplementation must get right" 3
 */
export const MODALITY_GROUPS = {
  struct: ['T2', 'FLAIR', 'T1', 'T1GD'],
  DTI: ['DTI_AD', 'DTI_FA', 'DTI_RD', 'DTI_TR'],
  DSC: ['DSC_ap-rCBV', 'DSC_PH', 'DSC_PSR'],
} as const;

/** A modality group: `struct`, `DTI` or `DSC`. */
export type ModalityGroup = keyof typeof MODALITY_GROUPS;
/** One of the eleven derivative names (the file-name suffix in UPENN-GBM, e.g. `DSC_ap-rCBV`). */
export type Modality = (typeof MODALITY_GROUPS)[ModalityGroup][number];

/** The groups in the study's order. */
export const GROUPS: readonly ModalityGroup[] = ['struct', 'DTI', 'DSC'];
/** All eleven modalities, group by group, in the study's channel order. */
export const MODALITIES: readonly Modality[] = GROUPS.flatMap((g) => MODALITY_GROUPS[g]);

/**
 * The group a modality belongs to: in the study's groups, or in `groups` (a configuration's
 * `modalityGroups`, whose names and members are the user's own).
 */
export function modalityGroup(modality: Modality): ModalityGroup;
export function modalityGroup(modality: string, groups: Readonly<Record<string, readonly string[]>>): string;
export function modalityGroup(modality: string, groups: Readonly<Record<string, readonly string[]>> = MODALITY_GROUPS): string {
  for (const [g, members] of Object.entries(groups)) if (members.includes(modality)) return g;
  throw new RangeError(
    `Unknown modality ${JSON.stringify(modality)}; the groups are ${Object.entries(groups)
      .map(([g, m]) => `${g} (${m.join(', ')})`)
      .join(', ')}`,
  );
}

/** The dataset layouts a cohort is read from (lib/data/cohort/layouts.ts). */
export const COHORT_LAYOUTS = ['upenn', 'brats2021', 'folders', 'manifest'] as const;

/**
 * Where an experiment's cohort comes from, beyond its folder: the layout (detected when null), the
 * labels file, and whether patients with missing or unreadable files are skipped (listed with
 * their reasons) or are an error.
 */
export const CohortSchema = z
  .object({
    layout: z
      .enum(COHORT_LAYOUTS)
      .nullable()
      .default(null)
      .describe('Dataset layout: upenn, brats2021, folders or manifest; null detects it'),
    labels: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("Labels or clinical CSV (null: the one inside the dataset folder; never a sibling folder's)"),
    skipUnusable: z
      .boolean()
      .default(false)
      .describe('Go on without patients whose files are missing or unreadable (they are listed) instead of failing'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof CohortSchema>.
import type { CohortOptions } from './options.js';
export type { CohortOptions };
/** {@link CohortOptions} resolved by CohortSchema: every default filled in; what the code downstream receives. */
export type CohortConfig = z.output<typeof CohortSchema>;

/** The folder of each group inside the UPENN-GBM NIfTI package (docs/study.md section 1). */
export const GROUP_FOLDERS: Readonly<Record<ModalityGroup, string>> = {
  struct: 'images_structural',
  DTI: 'images_DTI',
  DSC: 'images_DSC',
};

/** A crop box on (z, y, x): half-open [start, end) per axis. */
export type CropBox = [[number, number], [number, number], [number, number]];

/**
 * Geometry presets: source volume shape, crop box, scale and padded output shape.
 * - `paper`: UPENN-GBM at 1 mm in SRI-24, (z,y,x) 155x240x240; the study's fixed box
 *   [0:140, 39:211, 44:208] -> 140x172x164; rescale 0.5 -> 70x86x82; pad the last axis (2,2)
 *   -> 70x86x86 (docs/study.md section 2, steps 2-5).
 * - `small`: the synthetic cohort's reduced geometry (`synthCohort({size: 'small'})`), 78x120x120 at
 *   2 mm; box [0:70, 20:106, 22:104] -> 70x86x82; rescale 0.5 -> 35x43x41; pad (1,1) -> 35x43x43. It
 *   keeps the paper box's proportions at half the resolution, so the demo trains on small inputs.
 */
export const GEOMETRY_PRESETS = {
  paper: {
    sourceShape: [155, 240, 240],
    spacingMm: [1, 1, 1],
    crop: [
      [0, 140],
      [39, 211],
      [44, 208],
    ],
    scale: 0.5,
    padTo: [70, 86, 86],
  },
  small: {
    sourceShape: [78, 120, 120],
    spacingMm: [2, 2, 2],
    crop: [
      [0, 70],
      [20, 106],
      [22, 104],
    ],
    scale: 0.5,
    padTo: [35, 43, 43],
  },
} as const satisfies Record<
  string,
  {
    sourceShape: readonly number[];
    spacingMm: readonly number[];
    crop: readonly (readonly number[])[];
    scale: number;
    padTo: readonly number[];
  }
>;

/** The name of one of the {@link GEOMETRY_PRESETS} (`'paper'` or `'small'`), as {@link PreprocessSchema}'s `crop` takes it. */
export type GeometryPreset = keyof typeof GEOMETRY_PRESETS;

const cropBox = z
  .tuple([
    z.tuple([z.number().int().min(0), z.number().int().positive()]),
    z.tuple([z.number().int().min(0), z.number().int().positive()]),
    z.tuple([z.number().int().min(0), z.number().int().positive()]),
  ])
  .refine((b) => b.every(([s, e]) => e > s), 'each crop range must have end > start');

/**
 * Preprocessing parameters (docs/study.md section 2). `crop` is a preset name, an explicit box,
 * or `'tumour'`: the union bounding box of every patient's tumour mask (label > 0) in the cohort,
 * widened by `cropMargin` voxels, which REF says its fixed box followed ("following the largest tumour").
 */
export const PreprocessSchema = z
  .object({
    mask: z
      .enum(['automated', 'corrected'])
      .default('automated')
      .describe('Tumour mask: automated_segm (the study) or images_segm where a corrected mask exists'),
    crop: z
      .union([z.enum(['paper', 'small', 'tumour']), cropBox])
      .default('paper')
      .describe('Crop box on (z,y,x), half-open (section 2 step 2)'),
    cropMargin: z.number().int().min(0).default(0).describe("Voxels added around the tumour box when crop is 'tumour'"),
    scale: z
      .number()
      .positive()
      .max(1)
      .default(GEOMETRY_PRESETS.paper.scale)
      .describe('skimage.transform.rescale factor (section 2 step 3)'),
    antiAliasing: z
      .boolean()
      .default(true)
      .describe('Gaussian anti-aliasing before zoom, sigma (1/scale-1)/2 (skimage default for downscaling)'),
    padTo: z
      .union([z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]), z.null()])
      .default([...GEOMETRY_PRESETS.paper.padTo] as [number, number, number])
      .describe('Zero-pad to this shape, d//2 before and the rest after (section 2 step 5); null keeps the rescaled shape'),
    intensity: z
      .enum(['img_as_float', 'raw'])
      .default('img_as_float')
      .describe(
        'Integer voxels scaled as skimage img_as_float (REF, preserve_range=False) or kept raw; min-max makes both equal up to rounding',
      ),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof PreprocessSchema>.
import type { PreprocessOptions } from './options.js';
export type { PreprocessOptions };
/** {@link PreprocessOptions} resolved by PreprocessSchema: every default filled in; what the code downstream receives. */
export type PreprocessConfig = z.output<typeof PreprocessSchema>;

/** Synthetic cohort generator settings (`synthCohort`, `spottune data synth`). */
export const SynthSchema = z
  .object({
    out: z.string().min(1).describe('Directory to write the cohort into'),
    layout: z
      .enum(['upenn', 'brats2021'])
      .default('upenn')
      .describe(
        "'upenn' = the UPENN-GBM NIfTI package; 'brats2021' = its BraTS 2021 twin (same patients and structural volumes, BraTS2021_NNNNN folders, an RSNA-style train_labels.csv)",
      ),
    patients: z.number().int().min(1).max(99_999).default(24).describe('Baseline (_11) patients'),
    size: z
      .enum(['full', 'small'])
      .default('small')
      .describe("'full' = 155x240x240 at 1 mm (the paper geometry), 'small' = 78x120x120 at 2 mm"),
    seed: z.number().int().min(0).default(42).describe('Seed: the same seed gives byte-identical files'),
    signal: z.number().min(0).default(1).describe('Strength of the MGMT-linked tumour signal (0 = none)'),
    signalModalities: z.array(z.string()).optional().describe('Modalities carrying the signal (default: all eleven)'),
    methylatedFraction: z
      .number()
      .min(0)
      .max(1)
      .default(111 / 262)
      .describe('Share of definite-status patients that are methylated (paper: 111 of 262)'),
    compressionLevel: z.number().int().min(1).max(9).default(1).describe('gzip level of the .nii.gz files'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof SynthSchema>.
import type { SynthOptions } from './options.js';
export type { SynthOptions };
/** {@link SynthOptions} resolved by SynthSchema: every default filled in; what the code downstream receives. */
export type SynthConfig = z.output<typeof SynthSchema>;
