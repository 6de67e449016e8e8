/**
 * The probability distributions the study's statistics need, written from their definitions:
 * the standard normal (DeLong's z), chi-square (Friedman) and the studentized range (Nemenyi).
 * Accuracy is close to double precision for the normal and chi-square functions and about 1e-10
 * for the studentized range.
 * @module
 */
import { checkInteger, checkNumber } from '../util/validate.js';

const SQRT2 = Math.SQRT2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/**
 * erfc(x) = 1 - erf(x). The Maclaurin series of erf for |x| < 2 and a continued fraction for
 * erfc beyond, so both tails keep full relative precision.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27) return 0;
  return erfcContinuedFraction(x);
}

/** erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)); converges fast for |x| < 2. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x; // (-1)^n x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/**
 * erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
 * evaluated with the modified Lentz algorithm.
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Standard normal density. */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / SQRT_2PI;
}

/** Standard normal cumulative distribution P(Z <= x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

/** Standard normal survival function P(Z > x), accurate in the upper tail. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / SQRT2);
}

/** ln Gamma(x) for x > 0: Stirling's series after shifting x above 10 with the recurrence. */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  let shift = 0;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Bernoulli terms B_2n / (2n (2n-1) x^(2n-1))
  const series =
    inv *
    (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188 - inv2 * (691 / 360360 - inv2 * (1 / 156)))))));
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/**
 * The regularized upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a): the series of
 * P(a, x) when x < a + 1, Legendre's continued fraction otherwise.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  // Q = e^-x x^a / Gamma(a) * 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))), modified Lentz
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let f = d;
  for (let n = 1; n < 10_000; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    d = Math.abs(d) < tiny ? tiny : d;
    c = b + an / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * f;
}

/**
 * Chi-square survival function P(X > x) with `df` degrees of freedom, as scipy.stats.chi2.sf.
 * @throws {RangeError} when df is not positive
 */
export function chiSquareSf(x: number, df: number): number {
  checkNumber(df, 'df', { min: Number.MIN_VALUE });
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return regularizedGammaQ(df / 2, x / 2);
}

// 32-point Gauss-Legendre nodes and weights on [-1, 1], computed once by Newton's method on P_32.
const GAUSS_LEGENDRE = gaussLegendre(32);

function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      // P_n(x) by the three-term recurrence, and its derivative
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const step = p1 / derivative;
      x -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = weights[n - 1 - i] = 2 / ((1 - x * x) * derivative * derivative);
  }
  return { nodes, weights };
}

/** Integrates f over [a, b] with composite Gauss-Legendre on `panels` equal panels. */
function integrate(f: (x: number) => number, a: number, b: number, panels: number): number {
  const { nodes, weights } = GAUSS_LEGENDRE;
  const width = (b - a) / panels;
  let total = 0;
  for (let p = 0; p < panels; p++) {
    const mid = a + (p + 0.5) * width;
    let sum = 0;
    for (let i = 0; i < nodes.length; i++) sum += weights[i] * f(mid + 0.5 * width * nodes[i]);
    total += 0.5 * width * sum;
  }
  return total;
}

// Nodes of the inner integral over z in [-9, 9] (phi(z) < 1e-17 beyond), with phi and Phi
// precomputed: only Phi(z + q) depends on q.
const INNER = (() => {
  const panels = 8;
  const { nodes, weights } = GAUSS_LEGENDRE;
  const width = 18 / panels;
  const count = panels * nodes.length;
  const z = new Float64Array(count);
  const weightedPdf = new Float64Array(count);
  const cdf = new Float64Array(count);
  for (let p = 0, at = 0; p < panels; p++) {
    const mid = -9 + (p + 0.5) * width;
    for (let i = 0; i < nodes.length; i++, at++) {
      z[at] = mid + 0.5 * width * nodes[i];
      weightedPdf[at] = 0.5 * width * weights[i] * normalPdf(z[at]);
      cdf[at] = normalCdf(z[at]);
    }
  }
  return { z, weightedPdf, cdf };
})();

/**
 * P(range < q) for k independent standard normals (the studentized range with infinite degrees
 * of freedom): k * integral phi(z) [Phi(z + q) - Phi(z)]^(k-1) dz.
 */
function rangeCdfInfinite(q: number, k: number): number {
  if (q <= 0) return 0;
  const { z, weightedPdf, cdf } = INNER;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const inner = normalCdf(z[i] + q) - cdf[i];
    if (inner > 0) sum += weightedPdf[i] * Math.pow(inner, k - 1);
  }
  return Math.min(1, Math.max(0, k * sum));
}

/** ln of the density of s = sqrt(chi2_df / df), for the finite-df studentized range. */
function logChiScaledDensity(s: number, df: number): number {
  return Math.log(2) + (df / 2) * Math.log(df / 2) - logGamma(df / 2) + (df - 1) * Math.log(s) - (df * s * s) / 2;
}

/**
 * Cumulative distribution of the studentized range Q for `k` groups and `df` degrees of freedom
 * (Infinity allowed), as scipy.stats.studentized_range.cdf.
 * For finite df: P(Q < q) = integral f_s(s) P_inf(q s) ds with s = sqrt(chi2_df / df).
 * @throws {RangeError} when k < 2 or df is not positive
 */
export function studentizedRangeCdf(q: number, k: number, df = Infinity): number {
  checkInteger(k, 'k', { min: 2 });
  checkNumber(df, 'df', { min: Number.MIN_VALUE, finite: false });
  if (Number.isNaN(q)) return NaN;
  if (q <= 0) return 0;
  if (q === Infinity) return 1;
  if (df === Infinity) return rangeCdfInfinite(q, k);
  // s concentrates around 1 with standard deviation ~ 1/sqrt(2 df); 12 of those either side hold
  // all but ~1e-17 of its mass (its right tail is heaviest at df = 1, where it is half-normal).
  const spread = 1 / Math.sqrt(2 * df);
  const lo = Math.max(0, 1 - 12 * spread);
  const hi = 1 + 12 * spread;
  const value = integrate((s) => (s <= 0 ? 0 : Math.exp(logChiScaledDensity(s, df)) * rangeCdfInfinite(q * s, k)), lo, hi, 24);
  return Math.min(1, Math.max(0, value));
}

/** Survival function P(Q > q) of the studentized range; see {@link studentizedRangeCdf}. */
export function studentizedRangeSf(q: number, k: number, df = Infinity): number {
  return 1 - studentizedRangeCdf(q, k, df);
}
