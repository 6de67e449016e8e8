// The study's six features and the baseline model.
import { beforeAll, describe, expect, test } from 'vitest';
import {
  STUDY_FEATURES,
  extractRadiomics,
  radiomicsBaseline,
  studyFeatureRow,
  studyFeatures,
  type PatientVolumes,
} from '../../lib/radiomics/index.js';
import { loadBrain1, oracleDir, type Brain1 } from './oracle.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const expected = JSON.parse(readFileSync(path.join(oracleDir, 'expected.json'), 'utf8')).features as Record<string, number>;
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe("on brain1: the oracle ROI relabelled as each study region reproduces PyRadiomics's six values", () => {
  let brain1: Brain1;
  const relabel = (value: number): PatientVolumes => {
    const seg = Float32Array.from(brain1.label.data, (v) => (v === 1 ? value : 0));
    const segmentation = { data: seg, shape: brain1.label.shape };
    return { segmentation, T1: brain1.image, T1GD: brain1.image, T2: brain1.image, FLAIR: brain1.image };
  };
  beforeAll(async () => {
    brain1 = await loadBrain1();
  });

  test('as necrotic core (label 1): core Skewness, necrotic GLCM Contrast, core NGTDM Busyness', () => {
    const { values, excluded } = studyFeatures(relabel(1));
    expect(rel(values.T1_core_firstorder_Skewness, expected.original_firstorder_Skewness)).toBeLessThan(1e-12);
    expect(rel(values.FLAIR_necrotic_glcm_Contrast, expected.original_glcm_Contrast)).toBeLessThan(1e-12);
    expect(rel(values.T2_core_ngtdm_Busyness, expected.original_ngtdm_Busyness)).toBeLessThan(1e-12);
    expect(excluded.map((e) => [e.feature, e.code])).toEqual([
      ['T1_oedema_firstorder_Energy', 'ERR_EMPTY_ROI'],
      ['T1GD_enhancing_glszm_GrayLevelVariance', 'ERR_EMPTY_ROI'],
      ['T2_oedema_glszm_LowGrayLevelZoneEmphasis', 'ERR_EMPTY_ROI'],
    ]);
    expect(excluded[0].reason).toMatch(/oedema region \(labels 2\) is empty/);
    expect(studyFeatureRow({ values, excluded })).toBeNull();
  });

  test('as oedema (label 2): Energy (voxelArrayShift 2000, as the baseline) and GLSZM LowGrayLevelZoneEmphasis', () => {
    const { values } = studyFeatures(relabel(2), { voxelArrayShift: 2000 });
    expect(rel(values.T1_oedema_firstorder_Energy, expected.original_firstorder_Energy)).toBeLessThan(1e-12);
    expect(rel(values.T2_oedema_glszm_LowGrayLevelZoneEmphasis, expected.original_glszm_LowGrayLevelZoneEmphasis)).toBeLessThan(1e-12);
  });

  test('as enhancing (label 4): GLSZM GrayLevelVariance; core = 1 ∪ 4 includes it', () => {
    const { values } = studyFeatures(relabel(4));
    expect(rel(values.T1GD_enhancing_glszm_GrayLevelVariance, expected.original_glszm_GrayLevelVariance)).toBeLessThan(1e-12);
    expect(rel(values.T1_core_firstorder_Skewness, expected.original_firstorder_Skewness)).toBeLessThan(1e-12);
  });
});

/** A small synthetic patient: nested shells of the UPENN labels inside noise. */
function syntheticPatient(shape: [number, number, number], seed: number, { necrosis = true } = {}): PatientVolumes {
  const [D, H, W] = shape;
  const n = D * H * W;
  const seg = new Uint8Array(n);
  let s = seed;
  const rand = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const modality = (gain: number) => {
    const data = new Float32Array(n);
    for (let p = 0; p < n; p++) data[p] = Math.round(300 + gain * 200 * rand() + (seg[p] ? 150 * gain : 0));
    return { data, shape, spacing: [1, 1, 1] };
  };
  for (let z = 0, p = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++, p++) {
        const r = Math.hypot(z - D / 2, y - H / 2, x - W / 2);
        seg[p] = r < 3 && necrosis ? 1 : r < 6 ? 4 : r < 10 ? 2 : 0;
      }
    }
  }
  return { segmentation: { data: seg, shape }, T1: modality(1), T1GD: modality(1.5), T2: modality(0.7), FLAIR: modality(1.2) };
}

describe('synthetic patients', () => {
  test('each of the six equals the extractor on its modality and region', () => {
    const patient = syntheticPatient([24, 28, 28], 5);
    const { values, excluded } = studyFeatures(patient);
    expect(excluded).toEqual([]);
    const regions = { necrotic: [1], enhancing: [4], core: [1, 4], oedema: [2] } as Record<string, number[]>;
    for (const spec of STUDY_FEATURES) {
      const full = extractRadiomics(patient[spec.modality]!, patient.segmentation, {
        label: regions[spec.region],
        classes: [spec.featureClass],
      });
      expect(values[spec.name], spec.name).toBe((full[spec.featureClass] as Record<string, number>)[spec.feature]);
      expect(Number.isFinite(values[spec.name])).toBe(true);
    }
    expect(studyFeatureRow({ values, excluded })).toEqual(STUDY_FEATURES.map((f) => values[f.name]));
  });

  test('no necrosis: only the necrotic-core feature is excluded, with its reason', () => {
    const { values, excluded } = studyFeatures(syntheticPatient([24, 28, 28], 6, { necrosis: false }));
    expect(excluded.map((e) => e.feature)).toEqual(['FLAIR_necrotic_glcm_Contrast']);
    expect(Object.keys(values)).toHaveLength(5);
  });

  test('a missing modality is an exclusion; a volume of another shape is an error', () => {
    const patient = syntheticPatient([12, 24, 24], 7);
    delete patient.FLAIR;
    expect(studyFeatures(patient).excluded).toEqual([
      { feature: 'FLAIR_necrotic_glcm_Contrast', code: 'ERR_MISSING_MODALITY', reason: 'no FLAIR volume' },
    ]);
    patient.T2 = { data: new Float32Array(10 * 24 * 24), shape: [10, 24, 24] };
    expect(() => studyFeatures(patient)).toThrow(/mask to have the image's shape \[10, 24, 24\]/);
  });

  test("radiomicsBaseline: the study forest on patients' rows gives seeded probabilities in [0, 1]", () => {
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let k = 0; k < 40; k++) {
      const row = studyFeatureRow(studyFeatures(syntheticPatient([16, 24, 24], 100 + k)))!;
      rows.push(row);
      labels.push(k % 2);
    }
    const input = {
      trainFeatures: rows.slice(0, 30),
      trainLabels: labels.slice(0, 30),
      testFeatures: rows.slice(30),
      forest: { nEstimators: 200 },
    };
    const p = radiomicsBaseline(input);
    expect(p).toHaveLength(10);
    for (const v of p) expect(v >= 0 && v <= 1).toBe(true);
    expect(radiomicsBaseline(input)).toEqual(p);
    expect(radiomicsBaseline({ ...input, seed: 7 })).not.toEqual(p);
  });
});
