// The extractor against PyRadiomics's own published baseline for brain1 (values and matrices).
import { beforeAll, describe, expect, test } from 'vitest';
import {
  FIRST_ORDER_FEATURES,
  GLCM_DIRECTIONS,
  GLCM_FEATURES,
  GLSZM_FEATURES,
  NGTDM_FEATURES,
  extractRadiomics,
  type RadiomicsResult,
} from '../../lib/radiomics/index.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { baseline, loadBrain1, oracleDir, publishedMatrices, readNpy, voxelSha1, type Brain1 } from './oracle.js';

/**
 * Relative agreement asked of every feature (the issue asks 1e-6). Measured worst cases: 6e-15 on
 * the main column; 9e-13 for MCC in the secondary columns, which publish MCC to 12 digits only.
 */
const REL = 1e-10;

function expectClose(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), 1e-300);
  const rel = Math.abs(actual - expected) / scale;
  expect(rel, `${what}: ${actual} vs PyRadiomics ${expected}`).toBeLessThan(REL);
}

function expectClass(result: RadiomicsResult, published: Record<string, Record<string, number>>, classes: readonly string[]): void {
  for (const cls of classes) {
    const ours = result[cls as 'glcm'] as Record<string, number>;
    expect(Object.keys(published[cls]).length, `published ${cls}`).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(published[cls])) expectClose(ours[name], value, `${cls} ${name}`);
  }
}

let brain1: Brain1;
const published = baseline();
beforeAll(async () => {
  brain1 = await loadBrain1();
});

describe('brain1, PyRadiomics baseline column "brain1" (binWidth 25, voxelArrayShift 2000)', () => {
  let result: RadiomicsResult;
  beforeAll(() => {
    result = extractRadiomics(brain1.image, brain1.label, { label: 1, voxelArrayShift: 2000 });
  });

  test("the NIfTI pair is PyRadiomics's case: voxel hashes and shape from its diagnostics", () => {
    const { diagnostics } = JSON.parse(readFileSync(path.join(oracleDir, 'expected.json'), 'utf8'));
    expect(brain1.image.shape).toEqual([25, 256, 256]);
    expect(voxelSha1(brain1.image.data, 'int16')).toBe(diagnostics.imageHashSHA1);
    expect(voxelSha1(brain1.label.data, 'uint32')).toBe(diagnostics.maskHashSHA1);
  });

  test('the ROI: 4137 voxels, 33 gray levels', () => {
    expect(result.voxelCount).toBe(4137);
    expect([...result.grayLevels]).toEqual(publishedMatrices().grayLevels);
  });

  test('every published feature of the four classes is computed, and no other but StandardDeviation', () => {
    const ours = [
      ...FIRST_ORDER_FEATURES.map((f) => `firstorder ${f}`),
      ...GLCM_FEATURES.map((f) => `glcm ${f}`),
      ...GLSZM_FEATURES.map((f) => `glszm ${f}`),
      ...NGTDM_FEATURES.map((f) => `ngtdm ${f}`),
    ].sort();
    const theirs = Object.entries(published.brain1).flatMap(([cls, features]) => Object.keys(features).map((f) => `${cls} ${f}`));
    expect(ours).toEqual([...theirs, 'firstorder StandardDeviation'].sort());
    expect(theirs).toHaveLength(18 + 24 + 16 + 5);
  });

  test.each(['firstorder', 'glcm', 'glszm', 'ngtdm'])('%s features agree to 1e-10', (cls) => {
    expectClass(result, published.brain1, [cls]);
  });

  test('StandardDeviation (deprecated in PyRadiomics, not in the baseline) is sqrt(Variance)', () => {
    expectClose(result.firstorder!.StandardDeviation, Math.sqrt(published.brain1.firstorder.Variance), 'StandardDeviation');
  });

  test('GLCM per direction equals the published brain1_glcm.npy (33, 33, 13), in PyRadiomics direction order', () => {
    const glcm = readNpy(path.join(oracleDir, 'matrices', 'brain1_glcm.npy'));
    expect(glcm.shape).toEqual([33, 33, 13]);
    const ours = result.matrices.glcm!;
    expect(ours.directions).toEqual(GLCM_DIRECTIONS);
    let worst = 0;
    for (let a = 0; a < 13; a++) {
      for (let i = 0; i < 33; i++) {
        for (let j = 0; j < 33; j++) worst = Math.max(worst, Math.abs(ours.matrices[a][i * 33 + j] - glcm.data[(i * 33 + j) * 13 + a]));
      }
    }
    expect(worst).toBeLessThan(1e-15);
    // the JSON copy holds the same values
    expect(publishedMatrices().glcm.data[1][9][9]).toBe(glcm.data[(1 * 33 + 9) * 13 + 9]);
  });

  test('GLSZM equals the published brain1_glszm.npy (33, 25) zone counts', () => {
    const glszm = readNpy(path.join(oracleDir, 'matrices', 'brain1_glszm.npy'));
    expect(glszm.shape).toEqual([33, 25]);
    const ours = result.matrices.glszm!;
    expect(ours.zoneSizes.length).toBe(25);
    expect(Array.from(ours.counts)).toEqual(Array.from(glszm.data));
    expect(ours.voxelCount).toBe(4137);
  });

  test('NGTDM equals the published brain1_ngtdm.npy (33, 3) [n_i, s_i, i] matrix', () => {
    const ngtdm = readNpy(path.join(oracleDir, 'matrices', 'brain1_ngtdm.npy'));
    expect(ngtdm.shape).toEqual([33, 3]);
    const ours = result.matrices.ngtdm!;
    for (let k = 0; k < 33; k++) {
      const [n, s, i] = ngtdm.data.subarray(k * 3, k * 3 + 3);
      expect(ours.n[k]).toBe(n);
      expectClose(ours.s[k], s, `s_${i}`);
      expect(ours.grayLevels[k]).toBe(i);
    }
  });
});

describe('brain1, secondary PyRadiomics configurations', () => {
  test('"resegmentation" (voxelArrayShift 0, the modern default; no voxel falls outside mean ± 3 SD)', () => {
    const result = extractRadiomics(brain1.image, brain1.label); // every default
    expect(result.config.voxelArrayShift).toBe(0);
    expectClass(result, published.brain1_resegmentation, ['firstorder', 'glcm', 'glszm', 'ngtdm']);
  });

  test('"FBN": binCount 64', () => {
    const result = extractRadiomics(brain1.image, brain1.label, { binCount: 64, classes: ['glcm', 'glszm', 'ngtdm'] });
    expectClass(result, published.brain1_FBN, ['glcm', 'glszm', 'ngtdm']);
  });

  test('"combined": GLCM directions summed before the features (weightingNorm no_weighting)', () => {
    const result = extractRadiomics(brain1.image, brain1.label, { weightingNorm: 'no_weighting', classes: ['glcm'] });
    expect(result.matrices.glcm!.matrices).toHaveLength(1);
    expectClass(result, published.brain1_combined, ['glcm']);
  });

  test('"flatRegion": one gray level (binWidth 5000), PyRadiomics\'s flat-region values', () => {
    const result = extractRadiomics(brain1.image, brain1.label, { binWidth: 5000, classes: ['glcm', 'glszm', 'ngtdm'] });
    expect([...result.grayLevels]).toEqual([1]);
    for (const cls of ['glcm', 'glszm', 'ngtdm'] as const) {
      for (const [name, value] of Object.entries(published.brain1_flatRegion[cls])) {
        const ours = (result[cls] as Record<string, number>)[name];
        if (value === 0) expect(ours, `${cls} ${name}`).toBe(0);
        else expectClose(ours, value, `${cls} ${name}`);
      }
    }
  });
});
