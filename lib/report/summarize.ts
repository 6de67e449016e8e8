/**
 * From probabilities to the report's entries: one ensemble's metrics, intervals and curves, and
 * one input group's Friedman/Nemenyi statistics.
 * @module
 */
import {
  averagePrecision,
  averagePrecisionCi,
  accuracy,
  prCurve,
  rocAuc,
  rocAucCi,
  rocCurve,
  sensitivity,
  specificity,
  type BinaryLabels,
} from '../stats/index.js';
import { friedmanTest, nemenyiTest } from '../stats/friedman.js';
import { EvaluationSchema, StatsSchema } from '../config/experiment.js';
import type { ReportEnsemble, ReportGroupStatistics } from './types.js';

// the experiment's defaults, read from its schemas rather than restated
const STATS = StatsSchema.parse({});
const EVALUATION = EvaluationSchema.parse({});

/** Options of {@link summarizeEnsemble}. */
export interface SummarizeOptions {
  /** Probability threshold of SEN, SPE and ACC. Default: evaluation.threshold's (0.5). */
  threshold?: number;
  /** Bootstrap resamples of the AUC and AP intervals; 0 disables them. Default: stats.bootstrapResamples's. */
  bootstrapResamples?: number;
  /** Default: stats.bootstrapSeed's. */
  bootstrapSeed?: number;
  /** Default: stats.ciLevel's. */
  ciLevel?: number;
}

/**
 * Scores one ensemble: AUC and AP with bootstrap intervals, SEN/SPE/ACC at the threshold, the ROC
 * and PR curves, and the probabilities themselves.
 * @throws {RangeError} when the labels have a single class
 */
export function summarizeEnsemble(labels: BinaryLabels, probabilities: ArrayLike<number>, options: SummarizeOptions = {}): ReportEnsemble {
  const {
    threshold = EVALUATION.threshold,
    bootstrapResamples = STATS.bootstrapResamples,
    bootstrapSeed = STATS.bootstrapSeed,
    ciLevel = STATS.ciLevel,
  } = options;
  const boot = { resamples: bootstrapResamples, seed: bootstrapSeed, level: ciLevel };
  const auc = bootstrapResamples > 0 ? rocAucCi(labels, probabilities, boot) : { estimate: rocAuc(labels, probabilities) };
  const ap =
    bootstrapResamples > 0 ? averagePrecisionCi(labels, probabilities, boot) : { estimate: averagePrecision(labels, probabilities) };
  const roc = rocCurve(labels, probabilities);
  const pr = prCurve(labels, probabilities);
  return {
    metrics: {
      auc: { value: auc.estimate, ...('lower' in auc ? { lower: auc.lower, upper: auc.upper } : {}) },
      ap: { value: ap.estimate, ...('lower' in ap ? { lower: ap.lower, upper: ap.upper } : {}) },
      sensitivity: sensitivity(labels, probabilities, { threshold }),
      specificity: specificity(labels, probabilities, { threshold }),
      accuracy: accuracy(labels, probabilities, { threshold }),
    },
    curves: { roc: { fpr: roc.fpr, tpr: roc.tpr }, pr: { recall: pr.recall, precision: pr.precision } },
    probabilities: Array.from(probabilities),
  };
}

/**
 * Table 4 for one input group: Friedman's test across the networks (blocks = test patients,
 * groups = each network's probabilities), then Nemenyi's p-value for every pair of networks.
 * @param byNetwork network key -> probabilities on the same patients (at least 3 networks)
 */
export function summarizeGroupStatistics(
  byNetwork: Record<string, ArrayLike<number>>,
  { clamp = STATS.nemenyiClamp } = {},
): ReportGroupStatistics {
  const names = Object.keys(byNetwork);
  const groups = names.map((n) => byNetwork[n]);
  const friedman = friedmanTest(groups);
  const nemenyi = nemenyiTest(groups, { clamp });
  const pairs: ReportGroupStatistics['nemenyi'] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) pairs.push({ a: names[i], b: names[j], pValue: nemenyi.pValues[i][j] });
  }
  return { friedman: { statistic: friedman.statistic, pValue: friedman.pValue }, nemenyi: pairs, clamped: clamp };
}
