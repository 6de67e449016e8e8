/**
 * Uncertainty of the study's metrics, beyond the paper: seeded bootstrap confidence intervals for
 * AUC and AP, and DeLong's test between two correlated ROC curves scored on the same patients.
 * @module
 */
import { RandomState } from '../util/random-state.js';
import { checkInteger, checkNumber } from '../util/validate.js';
import { normalCdf, normalSf } from './distributions.js';
import { checkBinaryInputs, requireBothClasses, type BinaryLabels, type Scores } from './metrics.js';
import { rankingAreas } from './ranking.js';

/** Options of {@link bootstrapCi}. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples. Default 2000. */
  resamples?: number;
  /** Two-sided confidence level. Default 0.95. */
  level?: number;
  /** Seed of the numpy-compatible MT19937 generator that draws the resamples. Default 42. */
  seed?: number;
  /**
   * Resample positives and negatives separately, keeping the class counts (as pROC's default),
   * so that every resample has both classes. Default true.
   */
  stratified?: boolean;
}

/** A point estimate with a percentile bootstrap interval. */
export interface ConfidenceInterval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  /** Bootstrap resamples that produced a defined metric (all of them when stratified); absent for analytic intervals. */
  resamples?: number;
}

/**
 * Percentile bootstrap interval of `metric(labels, scores)`: patients are drawn with replacement
 * (`RandomState(seed).randint`, per class when stratified) and the interval is the
 * ((1 - level)/2, (1 + level)/2) quantiles (linear interpolation, numpy's default) of the metric
 * over the resamples. Resamples where the metric is undefined (it throws or is NaN) are skipped.
 * @throws {RangeError} when the metric is undefined on the data itself
 */
export function bootstrapCi(
  labels: BinaryLabels,
  scores: Scores,
  metric: (labels: Uint8Array, scores: Float64Array) => number,
  { resamples = 2000, level = 0.95, seed = 42, stratified = true }: BootstrapOptions = {},
): ConfidenceInterval {
  checkInteger(resamples, 'resamples', { min: 1 });
  checkNumber(level, 'level', { min: 0, max: 1 });
  const { y, s } = checkBinaryInputs(labels, scores);
  const estimate = metric(y, s);
  if (Number.isNaN(estimate)) throw new RangeError('The metric is undefined (NaN) on the given labels and scores');
  const rng = new RandomState(seed);
  const groups = stratified ? [indicesWhere(y, 1), indicesWhere(y, 0)] : [Array.from(y.keys())];
  const n = y.length;
  const values: number[] = [];
  const yb = new Uint8Array(n);
  const sb = new Float64Array(n);
  for (let r = 0; r < resamples; r++) {
    let at = 0;
    for (const group of groups) {
      for (let i = 0; i < group.length; i++) {
        const pick = group[rng.randint(0, group.length)];
        yb[at] = y[pick];
        sb[at++] = s[pick];
      }
    }
    let value: number;
    try {
      value = metric(yb, sb);
    } catch {
      continue;
    }
    if (!Number.isNaN(value)) values.push(value);
  }
  if (values.length === 0) throw new RangeError('The metric was undefined on every bootstrap resample');
  values.sort((a, b) => a - b);
  return {
    estimate,
    lower: quantile(values, (1 - level) / 2),
    upper: quantile(values, (1 + level) / 2),
    level,
    resamples: values.length,
  };
}

/** Bootstrap interval of {@link rocAuc}. */
export function rocAucCi(labels: BinaryLabels, scores: Scores, options?: BootstrapOptions): ConfidenceInterval {
  return bootstrapCi(labels, scores, (y, s) => (bothClasses(y) ? rankingAreas(y, s).auc : NaN), options);
}

/** Bootstrap interval of {@link averagePrecision}. */
export function averagePrecisionCi(labels: BinaryLabels, scores: Scores, options?: BootstrapOptions): ConfidenceInterval {
  return bootstrapCi(labels, scores, (y, s) => (y.includes(1) ? rankingAreas(y, s).ap : NaN), options);
}

function bothClasses(y: Uint8Array): boolean {
  return y.includes(1) && y.includes(0);
}

function indicesWhere(y: Uint8Array, value: number): number[] {
  const out: number[] = [];
  y.forEach((v, i) => v === value && out.push(i));
  return out;
}

/** numpy's default ('linear') quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/** Result of {@link delongTest}. */
export interface DelongResult {
  /** AUC of the first and second scores. */
  aucA: number;
  aucB: number;
  /** Covariance matrix of the two AUC estimates [[var A, cov], [cov, var B]]. */
  covariance: [[number, number], [number, number]];
  /** z = (aucA - aucB) / sqrt(var A + var B - 2 cov). */
  z: number;
  /** Two-sided p-value of H0: the two AUCs are equal. 1 when both curves are identical. */
  pValue: number;
}

/**
 * Midranks (average ranks of ties, 1-based) of `values`: the Sun & Xu (2014) building block.
 */
function midranks(values: Float64Array): Float64Array {
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[order[t]] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * AUC and DeLong's structural components of one score vector, by the fast algorithm of Sun & Xu
 * (2014, IEEE Signal Processing Letters 21:1389): with m positives and n negatives,
 * V10_i = (Tz_i - Tx_i) / n for each positive, V01_j = 1 - (Tz_j - Ty_j) / m for each negative,
 * where Tx, Ty, Tz are midranks among positives, negatives and all samples.
 */
function delongComponents(positives: Float64Array, negatives: Float64Array): { auc: number; v10: Float64Array; v01: Float64Array } {
  const m = positives.length;
  const n = negatives.length;
  const all = new Float64Array(m + n);
  all.set(positives);
  all.set(negatives, m);
  const tx = midranks(positives);
  const ty = midranks(negatives);
  const tz = midranks(all);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let rankSum = 0;
  for (let i = 0; i < m; i++) {
    v10[i] = (tz[i] - tx[i]) / n;
    rankSum += tz[i];
  }
  for (let j = 0; j < n; j++) v01[j] = 1 - (tz[m + j] - ty[j]) / m;
  return { auc: rankSum / (m * n) - (m + 1) / (2 * n), v10, v01 };
}

function covariance(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return 0;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i];
    meanB += b[i];
  }
  meanA /= n;
  meanB /= n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (a[i] - meanA) * (b[i] - meanB);
  return sum / (n - 1);
}

/**
 * DeLong, DeLong & Clarke-Pearson (1988) test of two correlated ROC AUCs (the same patients
 * scored by two models), with the fast midrank algorithm of Sun & Xu (2014).
 * @throws {RangeError} when the labels have a single class or the score vectors differ in length
 */
export function delongTest(labels: BinaryLabels, scoresA: Scores, scoresB: Scores): DelongResult {
  const { y, s: a } = checkBinaryInputs(labels, scoresA);
  const { s: b } = checkBinaryInputs(labels, scoresB);
  requireBothClasses(y, 'delongTest');
  const split = (s: Float64Array) => {
    const pos: number[] = [];
    const neg: number[] = [];
    s.forEach((v, i) => (y[i] ? pos : neg).push(v));
    return delongComponents(Float64Array.from(pos), Float64Array.from(neg));
  };
  const A = split(a);
  const B = split(b);
  const m = A.v10.length;
  const n = A.v01.length;
  const cov = (x: 'A' | 'B', z: 'A' | 'B') => {
    const p = x === 'A' ? A : B;
    const q = z === 'A' ? A : B;
    return covariance(p.v10, q.v10) / m + covariance(p.v01, q.v01) / n;
  };
  const varA = cov('A', 'A');
  const varB = cov('B', 'B');
  const covAB = cov('A', 'B');
  const varDiff = varA + varB - 2 * covAB;
  const diff = A.auc - B.auc;
  let z: number;
  let pValue: number;
  if (varDiff <= 1e-300) {
    z = diff === 0 ? 0 : Math.sign(diff) * Infinity;
    pValue = diff === 0 ? 1 : 0;
  } else {
    z = diff / Math.sqrt(varDiff);
    pValue = 2 * normalSf(Math.abs(z));
  }
  return {
    aucA: A.auc,
    aucB: B.auc,
    covariance: [
      [varA, covAB],
      [covAB, varB],
    ],
    z,
    pValue,
  };
}

/**
 * DeLong's asymptotic confidence interval of one AUC: auc +- z_{(1+level)/2} * sqrt(var),
 * clipped to [0, 1].
 */
export function delongCi(labels: BinaryLabels, scores: Scores, { level = 0.95 } = {}): ConfidenceInterval {
  checkNumber(level, 'level', { min: 0, max: 1 });
  const { covariance: c, aucA } = delongTest(labels, scores, scores);
  const half = normalQuantile((1 + level) / 2) * Math.sqrt(c[0][0]);
  return { estimate: aucA, lower: Math.max(0, aucA - half), upper: Math.min(1, aucA + half), level };
}

/** Inverse of the standard normal CDF, by bisection to double precision. */
export function normalQuantile(p: number): number {
  checkNumber(p, 'p', { min: 0, max: 1 });
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
