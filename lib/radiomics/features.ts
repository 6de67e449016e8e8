/**
 * The feature formulas of PyRadiomics's first-order, GLCM, GLSZM and NGTDM classes, with
 * PyRadiomics's names, its eps (2^-52 = numpy.spacing(1)) inside logarithms and divisions, and its
 * conventions for flat regions and empty denominators (documented per feature in docs/radiomics.md).
 * @see https://pyradiomics.readthedocs.io/en/latest/features.html
 * @module
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { GlcmMatrices, GlszmMatrix, NgtdmMatrix } from './matrices.js';
import type { Discretised, Roi } from './roi.js';

/** numpy.spacing(1), PyRadiomics's `eps`. */
const EPS = 2 ** -52;

/** PyRadiomics's first-order features, by its names, in the order {@link firstOrderFeatures} computes them. */
export const FIRST_ORDER_FEATURES = [
  'Energy',
  'TotalEnergy',
  'Entropy',
  'Minimum',
  '10Percentile',
  '90Percentile',
  'Maximum',
  'Mean',
  'Median',
  'InterquartileRange',
  'Range',
  'MeanAbsoluteDeviation',
  'RobustMeanAbsoluteDeviation',
  'RootMeanSquared',
  'StandardDeviation',
  'Skewness',
  'Kurtosis',
  'Variance',
  'Uniformity',
] as const;
/** PyRadiomics's GLCM (grey-level co-occurrence matrix) features, by its names, as {@link glcmFeatures} returns them. */
export const GLCM_FEATURES = [
  'Autocorrelation',
  'JointAverage',
  'ClusterProminence',
  'ClusterShade',
  'ClusterTendency',
  'Contrast',
  'Correlation',
  'DifferenceAverage',
  'DifferenceEntropy',
  'DifferenceVariance',
  'JointEnergy',
  'JointEntropy',
  'Imc1',
  'Imc2',
  'Idm',
  'MCC',
  'Idmn',
  'Id',
  'Idn',
  'InverseVariance',
  'MaximumProbability',
  'SumAverage',
  'SumEntropy',
  'SumSquares',
] as const;
/** PyRadiomics's GLSZM (grey-level size-zone matrix) features, by its names, as {@link glszmFeatures} returns them. */
export const GLSZM_FEATURES = [
  'SmallAreaEmphasis',
  'LargeAreaEmphasis',
  'GrayLevelNonUniformity',
  'GrayLevelNonUniformityNormalized',
  'SizeZoneNonUniformity',
  'SizeZoneNonUniformityNormalized',
  'ZonePercentage',
  'GrayLevelVariance',
  'ZoneVariance',
  'ZoneEntropy',
  'LowGrayLevelZoneEmphasis',
  'HighGrayLevelZoneEmphasis',
  'SmallAreaLowGrayLevelEmphasis',
  'SmallAreaHighGrayLevelEmphasis',
  'LargeAreaLowGrayLevelEmphasis',
  'LargeAreaHighGrayLevelEmphasis',
] as const;
/** PyRadiomics's NGTDM (neighbouring grey-tone difference matrix) features, by its names, as {@link ngtdmFeatures} returns them. */
export const NGTDM_FEATURES = ['Coarseness', 'Contrast', 'Busyness', 'Complexity', 'Strength'] as const;

/** The name of one first-order feature ({@link FIRST_ORDER_FEATURES}). */
export type FirstOrderFeature = (typeof FIRST_ORDER_FEATURES)[number];
/** The name of one GLCM feature ({@link GLCM_FEATURES}). */
export type GlcmFeature = (typeof GLCM_FEATURES)[number];
/** The name of one GLSZM feature ({@link GLSZM_FEATURES}). */
export type GlszmFeature = (typeof GLSZM_FEATURES)[number];
/** The name of one NGTDM feature ({@link NGTDM_FEATURES}). */
export type NgtdmFeature = (typeof NGTDM_FEATURES)[number];

/**
 * First-order statistics of the raw ROI intensities (Entropy and Uniformity use the discretised
 * levels). Energy, TotalEnergy and RootMeanSquared add `voxelArrayShift`; moments are population
 * moments; a flat region gives Skewness = Kurtosis = 0; percentiles follow numpy's linear rule.
 */
export function firstOrderFeatures(roi: Roi, disc: Discretised, voxelArrayShift: number): Record<FirstOrderFeature, number> {
  const x = roi.roiValues;
  const n = x.length;
  const sorted = Float64Array.from(x).sort();
  let sum = 0,
    energy = 0;
  for (let k = 0; k < n; k++) {
    sum += x[k];
    const shifted = x[k] + voxelArrayShift;
    energy += shifted * shifted;
  }
  const mean = sum / n;
  let m2 = 0,
    m3 = 0,
    m4 = 0,
    mad = 0;
  for (let k = 0; k < n; k++) {
    const c = x[k] - mean;
    const c2 = c * c;
    m2 += c2;
    m3 += c2 * c;
    m4 += c2 * c2;
    mad += Math.abs(c);
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const flat = m2 === 0;
  const p10 = percentile(sorted, 10);
  const p90 = percentile(sorted, 90);
  // Robust MAD: the voxels within [P10, P90], their mean absolute deviation from their own mean.
  let rSum = 0,
    rCount = 0;
  for (let k = 0; k < n; k++) if (x[k] >= p10 && x[k] <= p90) (rSum += x[k]), rCount++;
  const rMean = rSum / rCount;
  let rMad = 0;
  for (let k = 0; k < n; k++) if (x[k] >= p10 && x[k] <= p90) rMad += Math.abs(x[k] - rMean);
  rMad /= rCount;
  // Histogram of the discretised levels 1..Ng (PyRadiomics's p_i over all bins up to the highest).
  const hist = new Float64Array(disc.maxLevel + 1);
  for (let q = 0; q < disc.bins.length; q++) if (disc.bins[q] > 0) hist[disc.bins[q]]++;
  let entropy = 0,
    uniformity = 0;
  for (let level = 1; level <= disc.maxLevel; level++) {
    const p = hist[level] / n;
    entropy -= p * Math.log2(p + EPS);
    uniformity += p * p;
  }
  return {
    Energy: energy,
    TotalEnergy: roi.voxelVolume * energy,
    Entropy: entropy,
    Minimum: sorted[0],
    '10Percentile': p10,
    '90Percentile': p90,
    Maximum: sorted[n - 1],
    Mean: mean,
    Median: percentile(sorted, 50),
    InterquartileRange: percentile(sorted, 75) - percentile(sorted, 25),
    Range: sorted[n - 1] - sorted[0],
    MeanAbsoluteDeviation: mad / n,
    RobustMeanAbsoluteDeviation: rMad,
    RootMeanSquared: Math.sqrt(energy / n),
    StandardDeviation: Math.sqrt(m2),
    Skewness: flat ? 0 : m3 / m2 ** 1.5,
    Kurtosis: flat ? 0 : m4 / (m2 * m2),
    Variance: m2,
    Uniformity: uniformity,
  };
}

/** numpy.percentile(..., method='linear') of ascending values, with numpy's two-sided lerp. */
function percentile(sorted: Float64Array, q: number): number {
  const index = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(index);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = index - lo;
  const a = sorted[lo],
    b = sorted[hi];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * GLCM features: each computed on every direction's normalised matrix, then averaged over the
 * directions (PyRadiomics with weightingNorm None). `maxLevel` is PyRadiomics's Ng (Idmn, Idn).
 */
export function glcmFeatures(glcm: GlcmMatrices, maxLevel: number): Record<GlcmFeature, number> {
  const out = Object.fromEntries(GLCM_FEATURES.map((f) => [f, 0])) as Record<GlcmFeature, number>;
  const nd = glcm.matrices.length;
  for (const P of glcm.matrices) {
    const one = glcmDirection(P, glcm.grayLevels, maxLevel);
    for (const f of GLCM_FEATURES) out[f] += one[f];
  }
  for (const f of GLCM_FEATURES) out[f] /= nd; // numpy.nanmean: the sum, then one division
  return out;
}

function glcmDirection(P: Float64Array, levels: Int32Array, Ng: number): Record<GlcmFeature, number> {
  const nl = levels.length;
  const px = new Float64Array(nl),
    py = new Float64Array(nl);
  let ux = 0,
    uy = 0,
    autocorrelation = 0,
    contrast = 0,
    jointEnergy = 0,
    maxP = 0,
    hxy = 0;
  const pSum = new Float64Array(2 * Ng + 1); // index k = i + j
  const pDiff = new Float64Array(Ng); // index k = |i - j|
  for (let a = 0; a < nl; a++) {
    const i = levels[a];
    for (let b = 0; b < nl; b++) {
      const p = P[a * nl + b];
      const j = levels[b];
      px[a] += p;
      py[b] += p;
      ux += i * p;
      uy += j * p;
      autocorrelation += i * j * p;
      contrast += (i - j) * (i - j) * p;
      jointEnergy += p * p;
      if (p > maxP) maxP = p;
      hxy -= p * Math.log2(p + EPS);
      pSum[i + j] += p;
      pDiff[Math.abs(i - j)] += p;
    }
  }
  let hx = 0,
    hy = 0;
  for (let a = 0; a < nl; a++) {
    hx -= px[a] * Math.log2(px[a] + EPS);
    hy -= py[a] * Math.log2(py[a] + EPS);
  }
  let prominence = 0,
    shade = 0,
    tendency = 0,
    varX = 0,
    varY = 0,
    cov = 0,
    hxy1 = 0,
    hxy2 = 0;
  for (let a = 0; a < nl; a++) {
    const i = levels[a];
    for (let b = 0; b < nl; b++) {
      const p = P[a * nl + b];
      const j = levels[b];
      const c = i + j - ux - uy;
      prominence += c ** 4 * p;
      shade += c ** 3 * p;
      tendency += c * c * p;
      varX += (i - ux) * (i - ux) * p;
      varY += (j - uy) * (j - uy) * p;
      cov += (i - ux) * (j - uy) * p;
      const pxy = px[a] * py[b];
      hxy1 -= p * Math.log2(pxy + EPS);
      hxy2 -= pxy * Math.log2(pxy + EPS);
    }
  }
  const sigma = Math.sqrt(varX) * Math.sqrt(varY);
  let sumAverage = 0,
    sumEntropy = 0;
  for (let k = 2; k <= 2 * Ng; k++) {
    sumAverage += k * pSum[k];
    sumEntropy -= pSum[k] * Math.log2(pSum[k] + EPS);
  }
  let diffAverage = 0,
    diffEntropy = 0,
    idm = 0,
    idmn = 0,
    id = 0,
    idn = 0,
    inverseVariance = 0;
  for (let k = 0; k < Ng; k++) {
    const p = pDiff[k];
    diffAverage += k * p;
    diffEntropy -= p * Math.log2(p + EPS);
    idm += p / (1 + k * k);
    idmn += p / (1 + (k * k) / (Ng * Ng));
    id += p / (1 + k);
    idn += p / (1 + k / Ng);
    if (k > 0) inverseVariance += p / (k * k);
  }
  let diffVariance = 0;
  for (let k = 0; k < Ng; k++) diffVariance += (k - diffAverage) ** 2 * pDiff[k];
  const hMax = Math.max(hx, hy);
  const imc2 = hxy2 === hxy ? 0 : Math.sqrt(Math.max(0, 1 - Math.exp(-2 * (hxy2 - hxy))));
  return {
    Autocorrelation: autocorrelation,
    JointAverage: ux,
    ClusterProminence: prominence,
    ClusterShade: shade,
    ClusterTendency: tendency,
    Contrast: contrast,
    Correlation: sigma === 0 ? 1 : cov / (sigma + EPS),
    DifferenceAverage: diffAverage,
    DifferenceEntropy: diffEntropy,
    DifferenceVariance: diffVariance,
    JointEnergy: jointEnergy,
    JointEntropy: hxy,
    Imc1: hMax === 0 ? 0 : (hxy - hxy1) / hMax,
    Imc2: imc2,
    Idm: idm,
    MCC: mcc(P, px, py),
    Idmn: idmn,
    Id: id,
    Idn: idn,
    InverseVariance: inverseVariance,
    MaximumProbability: maxP,
    SumAverage: sumAverage,
    SumEntropy: sumEntropy,
    SumSquares: varX,
  };
}

/**
 * Maximal Correlation Coefficient: sqrt of the second largest eigenvalue of
 * Q(i, j) = sum_k P(i, k) P(j, k) / (px(i) py(k) + eps), taken as the real part of the complex
 * square root as numpy does (a slightly negative eigenvalue gives 0). One gray level gives 1.
 */
function mcc(P: Float64Array, px: Float64Array, py: Float64Array): number {
  const nl = px.length;
  if (nl < 2) return 1;
  const Q = new Matrix(nl, nl);
  for (let i = 0; i < nl; i++) {
    for (let j = 0; j < nl; j++) {
      let q = 0;
      for (let k = 0; k < nl; k++) q += (P[i * nl + k] * P[j * nl + k]) / (px[i] * py[k] + EPS);
      Q.set(i, j, q);
    }
  }
  const eig = new EigenvalueDecomposition(Q, { assumeSymmetric: false });
  const pairs = eig.realEigenvalues.map((re, k) => [re, eig.imaginaryEigenvalues[k]] as const);
  pairs.sort((u, v) => u[0] - v[0] || u[1] - v[1]);
  const [re, im] = pairs[pairs.length - 2];
  return Math.sqrt((Math.hypot(re, im) + re) / 2); // Re(sqrt(re + i im))
}

/** GLSZM features (PyRadiomics's glszm class); Nz = number of zones, Np = ROI voxels. */
export function glszmFeatures(glszm: GlszmMatrix): Record<GlszmFeature, number> {
  const { grayLevels, zoneSizes, counts, voxelCount } = glszm;
  const ng = grayLevels.length,
    ns = zoneSizes.length;
  let nz = 0;
  for (const c of counts) nz += c;
  if (nz === 0) nz = 1;
  const pg = new Float64Array(ng),
    ps = new Float64Array(ns);
  let sale = 0,
    sahgle = 0,
    lalgle = 0,
    lahgle = 0,
    uI = 0,
    uJ = 0,
    entropy = 0;
  for (let a = 0; a < ng; a++) {
    const i = grayLevels[a];
    for (let b = 0; b < ns; b++) {
      const c = counts[a * ns + b];
      const j = zoneSizes[b];
      pg[a] += c;
      ps[b] += c;
      sale += c / (i * i * j * j);
      sahgle += (c * i * i) / (j * j);
      lalgle += (c * j * j) / (i * i);
      lahgle += c * i * i * j * j;
      const p = c / nz;
      uI += p * i;
      uJ += p * j;
      entropy -= p * Math.log2(p + EPS);
    }
  }
  let glv = 0,
    zv = 0;
  for (let a = 0; a < ng; a++) {
    for (let b = 0; b < ns; b++) {
      const p = counts[a * ns + b] / nz;
      glv += p * (grayLevels[a] - uI) ** 2;
      zv += p * (zoneSizes[b] - uJ) ** 2;
    }
  }
  let sae = 0,
    lae = 0,
    szn = 0;
  for (let b = 0; b < ns; b++) {
    const j = zoneSizes[b];
    sae += ps[b] / (j * j);
    lae += ps[b] * j * j;
    szn += ps[b] * ps[b];
  }
  let gln = 0,
    lglze = 0,
    hglze = 0;
  for (let a = 0; a < ng; a++) {
    const i = grayLevels[a];
    gln += pg[a] * pg[a];
    lglze += pg[a] / (i * i);
    hglze += pg[a] * i * i;
  }
  return {
    SmallAreaEmphasis: sae / nz,
    LargeAreaEmphasis: lae / nz,
    GrayLevelNonUniformity: gln / nz,
    GrayLevelNonUniformityNormalized: gln / (nz * nz),
    SizeZoneNonUniformity: szn / nz,
    SizeZoneNonUniformityNormalized: szn / (nz * nz),
    ZonePercentage: nz / voxelCount,
    GrayLevelVariance: glv,
    ZoneVariance: zv,
    ZoneEntropy: entropy,
    LowGrayLevelZoneEmphasis: lglze / nz,
    HighGrayLevelZoneEmphasis: hglze / nz,
    SmallAreaLowGrayLevelEmphasis: sale / nz,
    SmallAreaHighGrayLevelEmphasis: sahgle / nz,
    LargeAreaLowGrayLevelEmphasis: lalgle / nz,
    LargeAreaHighGrayLevelEmphasis: lahgle / nz,
  };
}

/**
 * NGTDM features (PyRadiomics's ngtdm class). Empty denominators follow PyRadiomics: Coarseness
 * 1e6 when sum(p s) = 0; Contrast, Busyness, Strength 0 when their denominators are 0.
 */
export function ngtdmFeatures(ngtdm: NgtdmMatrix): Record<NgtdmFeature, number> {
  const { grayLevels: g, n, s } = ngtdm;
  const nl = g.length;
  let nvp = 0,
    sumS = 0;
  for (let k = 0; k < nl; k++) {
    nvp += n[k];
    sumS += s[k];
  }
  const p = Float64Array.from(n, (v) => v / nvp);
  let sumPS = 0;
  for (let k = 0; k < nl; k++) sumPS += p[k] * s[k];
  let contrastSum = 0,
    absDiff = 0,
    complexity = 0,
    strength = 0;
  for (let a = 0; a < nl; a++) {
    for (let b = 0; b < nl; b++) {
      if (p[a] * p[b] === 0) continue;
      const d = g[a] - g[b];
      contrastSum += p[a] * p[b] * d * d;
      absDiff += Math.abs(g[a] * p[a] - g[b] * p[b]);
      complexity += (Math.abs(d) * (p[a] * s[a] + p[b] * s[b])) / (p[a] + p[b]);
      strength += (p[a] + p[b]) * d * d;
    }
  }
  const ngp = nl;
  const div = ngp * (ngp - 1);
  return {
    Coarseness: sumPS === 0 ? 1e6 : 1 / sumPS,
    Contrast: div === 0 ? 0 : (contrastSum * sumS) / nvp / div,
    Busyness: absDiff === 0 ? 0 : sumPS / absDiff,
    Complexity: nvp === 0 ? 0 : complexity / nvp,
    Strength: sumS === 0 ? 0 : strength / sumS,
  };
}
