/**
 * Binary classification metrics as the study reports them (Tables 1-3): ROC AUC, average precision
 * (the step-wise, uninterpolated sum of scikit-learn), and sensitivity, specificity and accuracy at
 * a probability threshold with `score > threshold` meaning "methylated". Ties among scores are
 * handled exactly as scikit-learn's `_binary_clf_curve` does: tied scores form one threshold.
 * @module
 */
import { checkNumber, describeValue } from '../util/validate.js';
import { rankingAreas } from './ranking.js';

/** Ground truth: 1 (or true) = positive (MGMT methylated), 0 (or false) = negative. */
export type BinaryLabels = ArrayLike<number | boolean>;
/** Scores: higher means more likely positive (e.g. sigmoid probabilities). Finite numbers. */
export type Scores = ArrayLike<number>;

/** Options of the thresholded metrics. */
export interface ThresholdOptions {
  /** A score strictly greater than this is predicted positive. Default 0.5 (the study's `> 0.5`). */
  threshold?: number;
}

/** Counts of a confusion matrix at one threshold. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  threshold: number;
}

/** A ROC curve as scikit-learn's roc_curve returns it (false/true positive rates, thresholds). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Decreasing; the first one is max(score) + 1, as scikit-learn 1.2 writes it. */
  thresholds: number[];
}

/** A precision-recall curve as scikit-learn's precision_recall_curve returns it. */
export interface PrCurve {
  /** Ends with 1 (the point at recall 0). */
  precision: number[];
  /** Decreasing, ends with 0. */
  recall: number[];
  /** Increasing; one fewer than precision and recall. */
  thresholds: number[];
}

/**
 * The threshold the metrics use when {@link ThresholdOptions.threshold} is absent: a score `> 0.5`
 * is positive, the study's sigmoid cut (the value of TrainSchema's `threshold` default).
 */
export const DEFAULT_THRESHOLD = 0.5;

/**
 * Validates labels and scores and returns them as 0/1 and float arrays.
 * @throws {TypeError} when a label is not 0/1/boolean or a score is not a finite number
 * @throws {RangeError} when the lengths differ or are zero
 */
export function checkBinaryInputs(labels: BinaryLabels, scores: Scores): { y: Uint8Array; s: Float64Array } {
  if (labels == null || typeof labels.length !== 'number') {
    throw new TypeError(`Expected labels to be an array of 0/1 but received ${describeValue(labels)}`);
  }
  if (scores == null || typeof scores.length !== 'number') {
    throw new TypeError(`Expected scores to be an array of numbers but received ${describeValue(scores)}`);
  }
  if (labels.length !== scores.length) {
    throw new RangeError(`Expected labels and scores of the same length but received ${labels.length} labels and ${scores.length} scores`);
  }
  if (labels.length === 0) throw new RangeError('Expected at least one sample but received empty labels and scores');
  const y = new Uint8Array(labels.length);
  const s = new Float64Array(scores.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === 1 || label === true) y[i] = 1;
    else if (label !== 0 && label !== false) {
      throw new TypeError(`Expected labels[${i}] to be 0, 1, true or false but received ${describeValue(label)}`);
    }
    const score = scores[i];
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new TypeError(`Expected scores[${i}] to be a finite number but received ${describeValue(score)}`);
    }
    s[i] = score;
  }
  return { y, s };
}

/**
 * Cumulative counts at each distinct score, from the highest down: the heart of scikit-learn's
 * `_binary_clf_curve`. Tied scores share one threshold.
 */
function binaryClfCurve(y: Uint8Array, s: Float64Array): { fps: number[]; tps: number[]; thresholds: number[] } {
  const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  for (let i = 0; i < order.length; i++) {
    tp += y[order[i]];
    if (i === order.length - 1 || s[order[i + 1]] !== s[order[i]]) {
      tps.push(tp);
      fps.push(i + 1 - tp);
      thresholds.push(s[order[i]]);
    }
  }
  return { fps, tps, thresholds };
}

/**
 * The ROC curve, identical to scikit-learn 1.2's `roc_curve(labels, scores)` (with
 * drop_intermediate: collinear points are dropped, which never changes the area).
 * A rate whose class is absent is NaN, as scikit-learn.
 * @throws {TypeError|RangeError} on invalid inputs (see {@link checkBinaryInputs})
 */
export function rocCurve(labels: BinaryLabels, scores: Scores, { dropIntermediate = true } = {}): RocCurve {
  const { y, s } = checkBinaryInputs(labels, scores);
  let { fps, tps, thresholds } = binaryClfCurve(y, s);
  if (dropIntermediate && fps.length > 2) {
    const keep: number[] = [0];
    for (let i = 1; i < fps.length - 1; i++) {
      const secondFp = fps[i + 1] - 2 * fps[i] + fps[i - 1];
      const secondTp = tps[i + 1] - 2 * tps[i] + tps[i - 1];
      if (secondFp !== 0 || secondTp !== 0) keep.push(i);
    }
    keep.push(fps.length - 1);
    fps = keep.map((i) => fps[i]);
    tps = keep.map((i) => tps[i]);
    thresholds = keep.map((i) => thresholds[i]);
  }
  fps = [0, ...fps];
  tps = [0, ...tps];
  thresholds = [thresholds[0] + 1, ...thresholds];
  const negatives = fps[fps.length - 1];
  const positives = tps[tps.length - 1];
  return {
    fpr: fps.map((v) => (negatives > 0 ? v / negatives : NaN)),
    tpr: tps.map((v) => (positives > 0 ? v / positives : NaN)),
    thresholds,
  };
}

/**
 * Area under the ROC curve, as scikit-learn's `roc_auc_score` (trapezoids over {@link rocCurve}):
 * the probability that a random positive outscores a random negative, ties counting one half.
 * @throws {RangeError} when only one class is present (AUC is undefined)
 * @see Paper Tables 1-3 (AUC)
 */
export function rocAuc(labels: BinaryLabels, scores: Scores): number {
  const { y, s } = checkBinaryInputs(labels, scores);
  requireBothClasses(y, 'rocAuc');
  return rankingAreas(y, s).auc;
}

/**
 * The precision-recall curve, identical to scikit-learn 1.2's `precision_recall_curve`.
 * With no positives, recall is 1 everywhere (as scikit-learn).
 */
export function prCurve(labels: BinaryLabels, scores: Scores): PrCurve {
  const { y, s } = checkBinaryInputs(labels, scores);
  const { fps, tps, thresholds } = binaryClfCurve(y, s);
  const positives = tps[tps.length - 1];
  const precision = tps.map((tp, i) => (tp + fps[i] !== 0 ? tp / (tp + fps[i]) : 0));
  const recall = tps.map((tp) => (positives === 0 ? 1 : tp / positives));
  return {
    precision: [...precision.reverse(), 1],
    recall: [...recall.reverse(), 0],
    thresholds: thresholds.reverse(),
  };
}

/**
 * Average precision, as scikit-learn's `average_precision_score`: sum over thresholds of
 * (R_n - R_{n-1}) P_n, the step-wise area under the precision-recall curve (no interpolation).
 * @throws {RangeError} when there are no positives (AP is undefined)
 * @see Paper Tables 1-3 (AP)
 */
export function averagePrecision(labels: BinaryLabels, scores: Scores): number {
  const { y, s } = checkBinaryInputs(labels, scores);
  if (!y.includes(1)) throw new RangeError('averagePrecision is undefined without positive labels (all labels are 0)');
  return rankingAreas(y, s).ap;
}

/** Confusion counts with `score > threshold` predicted positive. */
export function confusion(labels: BinaryLabels, scores: Scores, { threshold = DEFAULT_THRESHOLD }: ThresholdOptions = {}): Confusion {
  checkNumber(threshold, 'threshold', { finite: false });
  const { y, s } = checkBinaryInputs(labels, scores);
  const counts: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0, threshold };
  for (let i = 0; i < y.length; i++) {
    const predicted = s[i] > threshold;
    if (y[i] === 1) predicted ? counts.tp++ : counts.fn++;
    else predicted ? counts.fp++ : counts.tn++;
  }
  return counts;
}

/** Sensitivity (recall, true positive rate) at the threshold; NaN without positives. @see Paper Tables 1-3 (SEN) */
export function sensitivity(labels: BinaryLabels, scores: Scores, options?: ThresholdOptions): number {
  const { tp, fn } = confusion(labels, scores, options);
  return tp + fn === 0 ? NaN : tp / (tp + fn);
}

/** Specificity (true negative rate) at the threshold; NaN without negatives. @see Paper Tables 1-3 (SPE) */
export function specificity(labels: BinaryLabels, scores: Scores, options?: ThresholdOptions): number {
  const { tn, fp } = confusion(labels, scores, options);
  return tn + fp === 0 ? NaN : tn / (tn + fp);
}

/** Accuracy at the threshold. */
export function accuracy(labels: BinaryLabels, scores: Scores, options?: ThresholdOptions): number {
  const { tp, tn, fp, fn } = confusion(labels, scores, options);
  return (tp + tn) / (tp + tn + fp + fn);
}

/**
 * Checks that 0/1 labels hold both classes, which rank metrics (AUC, average precision) need.
 * @param y - labels as {@link checkBinaryInputs} returns them
 * @param metric - the metric's name, for the error message
 * @throws {RangeError} naming the metric when one class is absent
 */
export function requireBothClasses(y: Uint8Array, metric: string): void {
  const positives = y.reduce((a, b) => a + b, 0);
  if (positives === 0 || positives === y.length) {
    throw new RangeError(
      `${metric} is undefined when only one class is present (received ${y.length} labels, all ${positives === 0 ? 0 : 1})`,
    );
  }
}
