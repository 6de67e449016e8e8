/**
 * Radiomics over a cohort: every feature of every tumour region of every modality per patient
 * (or only the study's six), as a table, with the reason for every missing value.
 * @module
 */
import { MODALITY_GROUPS } from '../config/data.js';
import { RadiomicsSchema, type RadiomicsOptions } from '../config/radiomics.js';
import type { CohortPatient } from '../data/cohort.js';
import { readNifti } from '../io/nifti.js';
import { extractFromRegion, flattenFeatures } from './extract.js';
import { FIRST_ORDER_FEATURES, GLCM_FEATURES, GLSZM_FEATURES, NGTDM_FEATURES } from './features.js';
import { discretise, locateRegions, RadiomicsError, roiOf } from './roi.js';
import {
  pickRegions,
  STUDY_FEATURES,
  studyFeatures,
  TUMOUR_REGIONS,
  type FeatureExclusion,
  type PatientVolumes,
  type TumourRegion,
} from './study.js';

/** One patient's row. */
export interface CohortFeatureRow {
  id: string;
  /** MGMT: 1 methylated, 0 unmethylated. */
  label: 0 | 1;
  /** Values by column name; a missing column is listed in `excluded`. */
  values: Record<string, number>;
  excluded: FeatureExclusion[];
}

/** What {@link extractCohortRadiomics} returns. */
export interface CohortFeatures {
  /** Feature columns, in order (`<modality>_<region>_<class>_<feature>`). */
  columns: string[];
  rows: CohortFeatureRow[];
}

/** Options of {@link extractCohortRadiomics}. */
export interface CohortRadiomicsOptions {
  /** Only the study's six features (fast); otherwise every feature of the four classes. */
  study?: boolean;
  /** Modalities to use (default: the structural four for `study`, else every modality a patient has). */
  modalities?: readonly string[];
  /** Regions (default: all five). Ignored with `study`. */
  regions?: readonly TumourRegion[];
  /** Extractor settings (label and classes are set per region). */
  radiomics?: Omit<RadiomicsOptions, 'label'>;
  /** Called after each patient. */
  onPatient?: (done: number, total: number, id: string) => void;
}

const ALL_FEATURES = [
  ...FIRST_ORDER_FEATURES.map((f) => `firstorder_${f}`),
  ...GLCM_FEATURES.map((f) => `glcm_${f}`),
  ...GLSZM_FEATURES.map((f) => `glszm_${f}`),
  ...NGTDM_FEATURES.map((f) => `ngtdm_${f}`),
];

/**
 * Extracts radiomics for each patient of a cohort ({@link openCohort}), on the original volumes
 * and the patient's tumour mask (UPENN-GBM labels 1, 2, 4). Patients are read one at a time.
 * A region that is empty, or a texture class without two touching voxels, leaves those columns
 * out of the patient's values and lists why in `excluded`.
 * @throws what readNifti throws for unreadable files; RangeError when a volume's grid differs
 *   from its mask's
 */
export async function extractCohortRadiomics(
  patients: readonly CohortPatient[],
  options: CohortRadiomicsOptions = {},
): Promise<CohortFeatures> {
  const config = RadiomicsSchema.parse({ ...options.radiomics });
  const regions = options.regions ?? (Object.keys(TUMOUR_REGIONS) as TumourRegion[]);
  const present = new Set(patients.flatMap((p) => Object.keys(p.images)));
  const modalities = options.modalities ?? (options.study ? [...MODALITY_GROUPS.struct] : [...present]);
  const columns = options.study
    ? STUDY_FEATURES.map((f) => f.name)
    : modalities.flatMap((m) =>
        regions.flatMap((r) => ALL_FEATURES.filter((f) => config.classes.includes(f.split('_')[0] as 'glcm')).map((f) => `${m}_${r}_${f}`)),
      );
  const rows: CohortFeatureRow[] = [];
  for (const [k, patient] of patients.entries()) {
    const mask = await readNifti(patient.mask);
    const row: CohortFeatureRow = { id: patient.id, label: patient.label, values: {}, excluded: [] };
    if (options.study) {
      const volumes: PatientVolumes = { segmentation: mask };
      for (const m of MODALITY_GROUPS.struct) {
        const path = patient.images[m];
        if (path) volumes[m] = await readNifti(path);
      }
      const { classes: _classes, ...settings } = options.radiomics ?? {};
      const result = studyFeatures(volumes, settings);
      row.values = result.values;
      row.excluded = result.excluded;
    } else {
      const located = locateRegions(mask, pickRegions(regions));
      for (const modality of modalities) {
        const path = patient.images[modality as keyof CohortPatient['images']];
        if (!path) {
          row.excluded.push({ feature: `${modality}_*`, code: 'ERR_MISSING_MODALITY', reason: `no ${modality} volume` });
          continue;
        }
        const image = await readNifti(path);
        for (const region of regions) {
          const where = located[region];
          if (where instanceof RadiomicsError) {
            row.excluded.push({ feature: `${modality}_${region}_*`, code: where.code, reason: `${region} region is empty` });
            continue;
          }
          const roi = roiOf(image, where);
          const discretised = discretise(roi, config);
          // Class by class, so a class that cannot be computed leaves the others.
          for (const cls of config.classes) {
            try {
              const result = extractFromRegion({ roi, discretised, config: { ...config, classes: [cls] }, spacing: image.spacing });
              for (const [name, value] of Object.entries(flattenFeatures(result))) row.values[`${modality}_${region}_${name}`] = value;
            } catch (err) {
              if (!(err instanceof RadiomicsError)) throw err;
              row.excluded.push({ feature: `${modality}_${region}_${cls}_*`, code: err.code, reason: err.message });
            }
          }
        }
      }
    }
    rows.push(row);
    options.onPatient?.(k + 1, patients.length, patient.id);
  }
  return { columns, rows };
}

/**
 * The table as CSV: `id,label,<columns...>`; a missing value is an empty cell. Numbers keep
 * full double precision.
 */
export function cohortFeaturesToCsv(features: CohortFeatures): string {
  const lines = [['id', 'label', ...features.columns].join(',')];
  for (const row of features.rows) {
    lines.push([row.id, String(row.label), ...features.columns.map((c) => (c in row.values ? String(row.values[c]) : ''))].join(','));
  }
  return `${lines.join('\n')}\n`;
}
