/**
 * The paper's Table 4: Friedman's test across the three networks for one input group (blocks =
 * test patients, groups = the networks' predicted probabilities), then Nemenyi's post-hoc test on
 * the mean ranks with p-values from the studentized range distribution.
 * @module
 */
import { checkInteger, describeValue } from '../util/validate.js';
import { chiSquareSf, studentizedRangeSf } from './distributions.js';

/** Result of {@link friedmanTest}. */
export interface FriedmanResult {
  /** The tie-corrected chi-square statistic (NaN when every block is all ties, as scipy). */
  statistic: number;
  pValue: number;
  /** Degrees of freedom, k - 1. */
  df: number;
  /** Number of groups (treatments), k. */
  k: number;
  /** Number of blocks (e.g. patients), n. */
  n: number;
  /** Mean rank of each group within blocks (1 = smallest value). */
  meanRanks: number[];
}

/** Result of {@link nemenyiTest}. */
export interface NemenyiResult {
  /** k x k matrix of p-values; the diagonal is 1. */
  pValues: number[][];
  /** k x k matrix of the studentized range statistics |R_i - R_j| / sqrt(k(k+1)/(6n)) * sqrt(2). */
  statistics: number[][];
  meanRanks: number[];
  k: number;
  n: number;
  /** Whether p-values were clamped to [0.001, 0.9]. */
  clamped: boolean;
}

/** Options of {@link nemenyiTest}. */
export interface NemenyiOptions {
  /**
   * Clamp p-values to [0.001, 0.9], as statsmodels' `psturng` lookup table did for older
   * scikit-posthocs (the paper's Table 4 values of exactly 0.9). Default false: exact values.
   * @see ExperimentSchema `stats.nemenyiClamp`
   */
  clamp?: boolean;
}

/** Validates k groups of n measurements each and returns them as arrays. */
function checkGroups(groups: readonly ArrayLike<number>[], name: string, minGroups: number): number[][] {
  if (!Array.isArray(groups)) throw new TypeError(`Expected ${name} to be an array of groups but received ${describeValue(groups)}`);
  checkInteger(groups.length, `the number of groups in ${name}`, { min: minGroups });
  const n = groups[0]?.length;
  return groups.map((group, g) => {
    if (group == null || typeof group.length !== 'number') {
      throw new TypeError(`Expected ${name}[${g}] to be an array of numbers but received ${describeValue(group)}`);
    }
    if (group.length !== n) {
      throw new RangeError(
        `Expected every group of ${name} to have ${n} measurements (one per block) but ${name}[${g}] has ${group.length}`,
      );
    }
    if (n === 0) throw new RangeError(`Expected at least one block in ${name} but the groups are empty`);
    return Array.from(group, (v, i) => {
      if (typeof v !== 'number' || Number.isNaN(v))
        throw new TypeError(`Expected ${name}[${g}][${i}] to be a number but received ${describeValue(v)}`);
      return v;
    });
  });
}

/** Average ranks (1-based) of the values in one block, and the tie term sum t(t^2 - 1). */
function rankBlock(values: readonly number[]): { ranks: number[]; ties: number } {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  let ties = 0;
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const t = j - i + 1;
    if (t > 1) ties += t * (t * t - 1);
    for (let r = i; r <= j; r++) ranks[order[r]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return { ranks, ties };
}

function meanRanksOf(data: number[][]): { meanRanks: number[]; ties: number } {
  const k = data.length;
  const n = data[0].length;
  const sums = new Array<number>(k).fill(0);
  let ties = 0;
  for (let b = 0; b < n; b++) {
    const block = rankBlock(data.map((group) => group[b]));
    block.ranks.forEach((r, g) => (sums[g] += r));
    ties += block.ties;
  }
  return { meanRanks: sums.map((s) => s / n), ties };
}

/**
 * Friedman's chi-square test of k related groups measured on the same n blocks, as
 * scipy.stats.friedmanchisquare: ranks within each block (ties averaged), statistic
 * (12/(n k (k+1)) sum_j R_j^2 - 3 n (k+1)) / (1 - sum t(t^2-1) / (n k (k^2-1))), p from chi-square
 * with k - 1 degrees of freedom.
 * @param groups One array per group (e.g. per network), each with one value per block (patient).
 * @throws {RangeError} with fewer than 3 groups or groups of different lengths
 * @see Paper Table 4; docs/study.md "Things a faithful reimplementation must get right" 11
 */
export function friedmanTest(groups: readonly ArrayLike<number>[]): FriedmanResult {
  const data = checkGroups(groups, 'groups', 3);
  const k = data.length;
  const n = data[0].length;
  const { meanRanks, ties } = meanRanksOf(data);
  const correction = 1 - ties / (k * (k * k - 1) * n);
  const sumSquares = meanRanks.reduce((acc, r) => acc + (r * n) ** 2, 0);
  const statistic = correction === 0 ? NaN : ((12 / (k * n * (k + 1))) * sumSquares - 3 * n * (k + 1)) / correction;
  return { statistic, pValue: Number.isNaN(statistic) ? NaN : chiSquareSf(statistic, k - 1), df: k - 1, k, n, meanRanks };
}

/**
 * Nemenyi's post-hoc test after Friedman (scikit-posthocs `posthoc_nemenyi_friedman`): for each
 * pair, q = |R_i - R_j| / sqrt(k(k+1)/(6n)) and p = P(Q > q sqrt(2)) for the studentized range Q
 * of k groups and infinite degrees of freedom (scipy.stats.studentized_range.sf).
 * @param groups As {@link friedmanTest}: one array per group, one value per block.
 * @throws {RangeError} with fewer than 2 groups or groups of different lengths
 * @see Paper Table 4
 */
export function nemenyiTest(groups: readonly ArrayLike<number>[], { clamp = false }: NemenyiOptions = {}): NemenyiResult {
  const data = checkGroups(groups, 'groups', 2);
  const k = data.length;
  const n = data[0].length;
  const { meanRanks } = meanRanksOf(data);
  const scale = Math.sqrt((k * (k + 1)) / (6 * n));
  const statistics = meanRanks.map((ri) => meanRanks.map((rj) => (Math.abs(ri - rj) / scale) * Math.SQRT2));
  const pValues = statistics.map((row, i) =>
    row.map((q, j) => {
      if (i === j) return 1;
      const p = studentizedRangeSf(q, k, Infinity);
      return clamp ? Math.min(0.9, Math.max(0.001, p)) : p;
    }),
  );
  return { pValues, statistics, meanRanks, k, n, clamped: clamp };
}
