// Degenerate and malformed input: clear errors, or PyRadiomics's documented values (never NaN).
import { describe, expect, test } from 'vitest';
import { RadiomicsError, extractRadiomics, flattenFeatures } from '../../lib/radiomics/index.js';

const shape: [number, number, number] = [6, 7, 8];
const n = 6 * 7 * 8;
const ramp = { data: Float32Array.from({ length: n }, (_, p) => (p * 37) % 101), shape, spacing: [1, 2, 3] };
const cube = (value: number, lo = 1, hi = 4) => {
  const data = new Uint8Array(n);
  for (let z = lo; z < hi; z++) for (let y = lo; y < hi; y++) for (let x = lo; x < hi; x++) data[(z * 7 + y) * 8 + x] = value;
  return { data, shape };
};

describe('BAD CALL', () => {
  test('an empty mask: RadiomicsError ERR_EMPTY_ROI naming the label', () => {
    const run = () => extractRadiomics(ramp, { data: new Uint8Array(n), shape });
    expect(run).toThrow(RadiomicsError);
    expect(run).toThrow(/no voxel with label 1/);
    try {
      run();
    } catch (err) {
      expect((err as RadiomicsError).code).toBe('ERR_EMPTY_ROI');
    }
  });

  test('a label absent from the mask is an empty ROI too', () => {
    expect(() => extractRadiomics(ramp, cube(1), { label: [2, 4] })).toThrow(/label 2 or 4/);
  });

  test('a mask of another shape: RangeError with both shapes', () => {
    expect(() => extractRadiomics(ramp, { data: new Uint8Array(6 * 7 * 9), shape: [6, 7, 9] })).toThrow(
      /mask to have the image's shape \[6, 7, 8\] but received \[6, 7, 9\]/,
    );
  });

  test('data that does not fill its shape, a rank-2 shape, a non-finite ROI voxel, bad options', () => {
    expect(() => extractRadiomics({ data: new Float32Array(5), shape }, cube(1))).toThrow(/image.data to hold 336 values/);
    expect(() => extractRadiomics({ data: new Float32Array(42), shape: [6, 7] }, cube(1))).toThrow(RangeError);
    const nan = Float32Array.from(ramp.data);
    nan[(2 * 7 + 2) * 8 + 2] = NaN;
    expect(() => extractRadiomics({ data: nan, shape }, cube(1))).toThrow(/voxel \[2, 2, 2\] is NaN/);
    expect(() => extractRadiomics(ramp, cube(1), { binWidth: 0 })).toThrow();
    expect(() => extractRadiomics(ramp, cube(1), { classes: ['glrlm' as 'glcm'] })).toThrow();
  });
});

describe('degenerate regions', () => {
  test("a constant region: PyRadiomics's flat-region values, no NaN", () => {
    const flat = { data: new Float32Array(n).fill(120), shape, spacing: [1, 2, 3] };
    const r = extractRadiomics(flat, cube(1));
    for (const [name, value] of Object.entries(flattenFeatures(r))) expect(Number.isNaN(value), name).toBe(false);
    expect(r.firstorder).toMatchObject({ Skewness: 0, Kurtosis: 0, Variance: 0, Range: 0, Uniformity: 1, Energy: 27 * 120 * 120 });
    expect(r.firstorder!.TotalEnergy).toBe(6 * 27 * 120 * 120);
    expect(r.firstorder!.Entropy).toBe(-Math.log2(1 + 2 ** -52)); // PyRadiomics's p log2(p + eps) with p = 1
    expect(r.glcm).toMatchObject({ Contrast: 0, Correlation: 1, Imc1: 0, Imc2: 0, MCC: 1, Idmn: 1, JointEnergy: 1, MaximumProbability: 1 });
    expect(r.glszm).toMatchObject({ GrayLevelVariance: 0, ZoneVariance: 0, ZonePercentage: 1 / 27, LowGrayLevelZoneEmphasis: 1 });
    expect(r.ngtdm).toEqual({ Coarseness: 1e6, Contrast: 0, Busyness: 0, Complexity: 0, Strength: 0 });
  });

  test('one voxel: first order and GLSZM are defined; GLCM and NGTDM say why they are not', () => {
    const one = cube(1, 2, 3);
    const r = extractRadiomics(ramp, one, { classes: ['firstorder', 'glszm'] });
    expect(r.voxelCount).toBe(1);
    expect(r.glszm!.ZonePercentage).toBe(1);
    for (const cls of ['glcm', 'ngtdm'] as const) {
      expect(() => extractRadiomics(ramp, one, { classes: [cls] })).toThrow(/none of the 1 ROI voxel\(s\) has an ROI neighbour/);
    }
  });

  test('float masks and several labels: the union of the labels', () => {
    const mask = { data: Float32Array.from(cube(4).data), shape };
    mask.data[0] = 1;
    const union = extractRadiomics(ramp, mask, { label: [1, 4], classes: ['firstorder'] });
    expect(union.voxelCount).toBe(28);
    expect(extractRadiomics(ramp, mask, { label: 4, classes: ['firstorder'] }).voxelCount).toBe(27);
  });
});
