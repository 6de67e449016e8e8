// Friedman and Nemenyi tests and the distributions against scipy 1.10
// (fixtures: scripts/fixtures/stats/friedman.py).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { chiSquareSf, erfc, friedmanTest, nemenyiTest, studentizedRangeCdf } from '../../lib/stats/index.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/stats/friedman.json', import.meta.url), 'utf8')) as {
  cases: {
    groups: number[][];
    friedman: { statistic: number; pValue: number };
    nemenyi: { meanRanks: number[]; statistics: number[][]; pValues: number[][] };
  }[];
  studentizedRange: { q: number; k: number; df: number | 'inf'; cdf: number }[];
  chiSquare: { x: number; df: number; sf: number }[];
  erfc: { x: number; erfc: number }[];
};

describe('friedmanTest agrees with scipy.stats.friedmanchisquare', () => {
  test.each(fixture.cases.map((c, i) => [i, c.groups.length, c.groups[0].length, c] as const))('case %i (k=%i, n=%i)', (_, k, n, c) => {
    const result = friedmanTest(c.groups);
    expect(result).toMatchObject({ k, n, df: k - 1 });
    expect(Math.abs(result.statistic - c.friedman.statistic)).toBeLessThan(1e-9 * Math.max(1, c.friedman.statistic));
    expect(Math.abs(result.pValue - c.friedman.pValue)).toBeLessThan(1e-12);
  });

  test('every block tied: the statistic is undefined (NaN), as scipy', () => {
    expect(
      friedmanTest([
        [1, 2],
        [1, 2],
        [1, 2],
      ]).statistic,
    ).toBeNaN();
  });

  test('BAD CALL: two groups, ragged groups, NaN', () => {
    expect(() =>
      friedmanTest([
        [1, 2],
        [2, 1],
      ]),
    ).toThrow(RangeError);
    expect(() => friedmanTest([[1, 2], [2, 1], [3]])).toThrow(/groups\[2\] has 1/);
    expect(() =>
      friedmanTest([
        [1, 2],
        [2, NaN],
        [3, 1],
      ]),
    ).toThrow(/groups\[1\]\[1\]/);
  });
});

describe('nemenyiTest agrees with the studentized-range reference to 1e-6', () => {
  test.each(fixture.cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
    const result = nemenyiTest(c.groups);
    result.meanRanks.forEach((r, i) => expect(r).toBeCloseTo(c.nemenyi.meanRanks[i], 12));
    result.pValues.forEach((row, i) =>
      row.forEach((p, j) => {
        expect(Math.abs(p - c.nemenyi.pValues[i][j])).toBeLessThan(1e-6);
        expect(result.statistics[i][j]).toBeCloseTo(c.nemenyi.statistics[i][j], 10);
      }),
    );
  });

  test("the legacy clamp bounds p to [0.001, 0.9] (the paper's 0.9 values)", () => {
    // Every group is first, second and third equally often: equal mean ranks, p = 1.
    const same = [
      [1, 2, 3, 1, 2, 3],
      [2, 3, 1, 2, 3, 1],
      [3, 1, 2, 3, 1, 2],
    ];
    const exact = nemenyiTest(same);
    const clamped = nemenyiTest(same, { clamp: true });
    expect(exact.pValues[0][2]).toBeGreaterThan(0.9);
    expect(clamped.pValues[0][2]).toBe(0.9);
    expect(clamped.clamped).toBe(true);
    const apart = [Array.from({ length: 60 }, () => 0), Array.from({ length: 60 }, () => 1), Array.from({ length: 60 }, () => 2)];
    expect(nemenyiTest(apart).pValues[0][2]).toBeLessThan(1e-6);
    expect(nemenyiTest(apart, { clamp: true }).pValues[0][2]).toBe(0.001);
  });
});

describe('distributions agree with scipy', () => {
  test.each(fixture.studentizedRange.map((r) => [r.q, r.k, r.df, r] as const))(
    'studentized range cdf(q=%f, k=%i, df=%s)',
    (q, k, df, r) => {
      expect(Math.abs(studentizedRangeCdf(q, k, df === 'inf' ? Infinity : df) - r.cdf)).toBeLessThan(1e-9);
    },
  );
  test.each(fixture.chiSquare.map((r) => [r.x, r.df, r] as const))('chi-square sf(%f, df=%i)', (x, df, r) => {
    expect(Math.abs(chiSquareSf(x, df) - r.sf)).toBeLessThan(1e-14);
    expect(Math.abs(chiSquareSf(x, df) - r.sf) / r.sf).toBeLessThan(1e-11);
  });
  test.each(fixture.erfc.map((r) => [r.x, r] as const))('erfc(%f)', (x, r) => {
    expect(Math.abs(erfc(x) - r.erfc) / r.erfc).toBeLessThan(1e-12);
  });
});
