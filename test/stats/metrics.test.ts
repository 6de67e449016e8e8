// Metrics, bootstrap intervals and DeLong's test against scikit-learn and a from-the-definition
// reference (fixtures: scripts/fixtures/stats/metrics.py).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  accuracy,
  averagePrecision,
  averagePrecisionCi,
  confusion,
  delongCi,
  delongTest,
  prCurve,
  rocAuc,
  rocAucCi,
  rocCurve,
  sensitivity,
  specificity,
} from '../../lib/stats/index.js';

interface Case {
  labels: number[];
  scores: number[];
  scoresB: number[];
  rocAuc: number;
  averagePrecision: number;
  rocCurve: { fpr: number[]; tpr: number[]; thresholds: number[] };
  prCurve: { precision: number[]; recall: number[]; thresholds: number[] };
  sensitivity: number;
  specificity: number;
  accuracy: number;
  delong: { aucA: number; aucB: number; covariance: number[][]; z: number; pValue: number };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/stats/metrics.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  bootstrap: {
    case: number;
    metric: 'rocAuc' | 'averagePrecision';
    resamples: number;
    level: number;
    seed: number;
    estimate: number;
    lower: number;
    upper: number;
  }[];
};

function expectClose(actual: number[], expected: number[], tolerance = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tolerance));
}

describe('metrics agree with scikit-learn (ties included)', () => {
  test.each(fixture.cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
    expect(rocAuc(c.labels, c.scores)).toBeCloseTo(c.rocAuc, 12);
    expect(averagePrecision(c.labels, c.scores)).toBeCloseTo(c.averagePrecision, 12);
    const roc = rocCurve(c.labels, c.scores);
    expectClose(roc.fpr, c.rocCurve.fpr);
    expectClose(roc.tpr, c.rocCurve.tpr);
    expectClose(roc.thresholds, c.rocCurve.thresholds);
    const pr = prCurve(c.labels, c.scores);
    expectClose(pr.precision, c.prCurve.precision);
    expectClose(pr.recall, c.prCurve.recall);
    expectClose(pr.thresholds, c.prCurve.thresholds);
    expect(sensitivity(c.labels, c.scores)).toBeCloseTo(c.sensitivity, 14);
    expect(specificity(c.labels, c.scores)).toBeCloseTo(c.specificity, 14);
    expect(accuracy(c.labels, c.scores)).toBeCloseTo(c.accuracy, 14);
  });

  test('the fixture exercises ties', () => {
    const tied = fixture.cases.filter((c) => new Set(c.scores).size < c.scores.length);
    expect(tied.length).toBeGreaterThan(20);
  });
});

describe('thresholded metrics', () => {
  test('a score equal to the threshold is negative (`> 0.5`, as the study)', () => {
    expect(confusion([1, 0, 1, 0], [0.5, 0.5, 0.51, 0.2])).toEqual({ tp: 1, fp: 0, tn: 2, fn: 1, threshold: 0.5 });
    expect(sensitivity([1, 1], [0.5, 0.7], { threshold: 0.4 })).toBe(1);
  });
  test('booleans are labels too', () => {
    expect(rocAuc([true, false, true], [0.9, 0.1, 0.4])).toBe(1);
  });
  test('a rate without its class is NaN', () => {
    expect(sensitivity([0, 0], [0.1, 0.9])).toBeNaN();
    expect(specificity([1, 1], [0.1, 0.9])).toBeNaN();
  });
  test('all-tied scores give AUC 0.5 and AP = prevalence', () => {
    expect(rocAuc([1, 0, 0, 1, 0], [0.3, 0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    expect(averagePrecision([1, 0, 0, 1, 0], [0.3, 0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.4, 15);
  });
});

describe('BAD CALL', () => {
  test('AUC with one class', () => {
    expect(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(/only one class/);
  });
  test('AP without positives', () => {
    expect(() => averagePrecision([0, 0], [0.1, 0.2])).toThrow(RangeError);
  });
  test('labels that are not 0/1', () => {
    expect(() => rocAuc([2, 0], [0.1, 0.2])).toThrow(/labels\[0\]/);
  });
  test('non-finite scores', () => {
    expect(() => rocAuc([1, 0], [NaN, 0.2])).toThrow(TypeError);
  });
  test('lengths differ', () => {
    expect(() => rocAuc([1, 0, 1], [0.1, 0.2])).toThrow(/same length/);
  });
});

describe('DeLong (fast algorithm) agrees with the O(mn) definition', () => {
  test.each(fixture.cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
    const result = delongTest(c.labels, c.scores, c.scoresB);
    expect(result.aucA).toBeCloseTo(c.delong.aucA, 12);
    expect(result.aucB).toBeCloseTo(c.delong.aucB, 12);
    expect(result.covariance[0][0]).toBeCloseTo(c.delong.covariance[0][0], 12);
    expect(result.covariance[0][1]).toBeCloseTo(c.delong.covariance[0][1], 12);
    expect(result.covariance[1][1]).toBeCloseTo(c.delong.covariance[1][1], 12);
    expect(result.z).toBeCloseTo(c.delong.z, 9);
    expect(result.pValue).toBeCloseTo(c.delong.pValue, 10);
  });

  test('a model against itself: z = 0, p = 1', () => {
    const c = fixture.cases[3];
    expect(delongTest(c.labels, c.scores, c.scores)).toMatchObject({ z: 0, pValue: 1 });
  });

  test('the DeLong interval contains the AUC', () => {
    const c = fixture.cases[5];
    const ci = delongCi(c.labels, c.scores);
    expect(ci.lower).toBeLessThan(ci.estimate);
    expect(ci.upper).toBeGreaterThan(ci.estimate);
  });
});

describe('bootstrap intervals', () => {
  test.each(fixture.bootstrap.map((b, i) => [i, b] as const))('reproduce the numpy RandomState reference %i', (_, b) => {
    const c = fixture.cases[b.case];
    const ci = (b.metric === 'rocAuc' ? rocAucCi : averagePrecisionCi)(c.labels, c.scores, {
      resamples: b.resamples,
      level: b.level,
      seed: b.seed,
    });
    expect(ci.estimate).toBeCloseTo(b.estimate, 12);
    expect(ci.lower).toBeCloseTo(b.lower, 12);
    expect(ci.upper).toBeCloseTo(b.upper, 12);
    expect(ci.resamples).toBe(b.resamples);
  });

  test('a seed reproduces the interval, another seed changes it', () => {
    const c = fixture.cases[10];
    expect(rocAucCi(c.labels, c.scores, { resamples: 300 })).toEqual(rocAucCi(c.labels, c.scores, { resamples: 300 }));
    expect(rocAucCi(c.labels, c.scores, { resamples: 300, seed: 1 })).not.toEqual(rocAucCi(c.labels, c.scores, { resamples: 300 }));
  });

  test('non-stratified resampling skips resamples with a single class', () => {
    const ci = rocAucCi([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], { resamples: 100, stratified: false });
    expect(ci.resamples).toBeLessThan(100);
    expect(ci.lower).toBeLessThanOrEqual(ci.upper);
  });
});
