/**
 * The per-epoch numbers the trainer logs and selects on: loss, ACC, AUC, SEN, SPE and the study's
 * selection criterion M = 0.6 SEN + 0.4 SPE, each from one pass's predictions only (the reference
 * code carried SEN/SPE over from training into validation; docs/study.md bug 5).
 * @module
 */
import { accuracy, rocAuc, sensitivity, specificity } from '../stats/metrics.js';

/** Metrics of one pass (training or validation) over a set. */
export interface PassMetrics {
  /** Samples seen. */
  n: number;
  /** Mean BCE-with-logits. */
  loss: number;
  acc: number;
  /** NaN when the pass saw one class only. */
  auc: number;
  /** NaN without positives. */
  sen: number;
  /** NaN without negatives. */
  spe: number;
  /** senWeight SEN + (1 - senWeight) SPE. */
  m: number;
}

/** Numerically stable BCE-with-logits of one logit against a 0/1 label. */
export function bceWithLogits(logit: number, label: number): number {
  return Math.max(logit, 0) - logit * label + Math.log1p(Math.exp(-Math.abs(logit)));
}

/**
 * Metrics of a pass from its labels, sigmoid probabilities and per-sample losses.
 * @param threshold a probability strictly above it is positive (the study: 0.5)
 */
export function passMetrics(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  lossSum: number,
  { threshold, senWeight }: { threshold: number; senWeight: number },
): PassMetrics {
  const n = labels.length;
  if (n === 0) return { n, loss: NaN, acc: NaN, auc: NaN, sen: NaN, spe: NaN, m: NaN };
  const opts = { threshold };
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] === 1 ? 1 : 0;
  const auc = positives > 0 && positives < n ? rocAuc(labels, probabilities) : NaN;
  const sen = sensitivity(labels, probabilities, opts);
  const spe = specificity(labels, probabilities, opts);
  return { n, loss: lossSum / n, acc: accuracy(labels, probabilities, opts), auc, sen, spe, m: senWeight * sen + (1 - senWeight) * spe };
}
