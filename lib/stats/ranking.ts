/**
 * Internal: the ranking metrics' inner loop, shared by lib/stats/metrics.ts and the bootstrap
 * (not re-exported: it trusts its inputs).
 * @module
 */

/**
 * ROC AUC and average precision in one pass over the distinct scores, from the highest down: the
 * trapezoids of the ROC curve (scikit-learn's `auc(fpr, tpr)`; dropping collinear points does not
 * change the sum) and sum (R_n - R_{n-1}) P_n. No arrays beyond the sort order: the bootstrap
 * calls this thousands of times.
 */
export function rankingAreas(y: Uint8Array, s: Float64Array): { auc: number; ap: number } {
  const order = new Uint32Array(s.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => s[b] - s[a]);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  const negatives = y.length - positives;
  let tp = 0;
  let fp = 0;
  let previousTp = 0;
  let previousFp = 0;
  let area = 0;
  let ap = 0;
  for (let i = 0; i < order.length; i++) {
    if (y[order[i]]) tp++;
    else fp++;
    if (i === order.length - 1 || s[order[i + 1]] !== s[order[i]]) {
      area += ((fp - previousFp) / negatives) * ((tp + previousTp) / positives / 2);
      ap += ((tp - previousTp) / positives) * (tp / (tp + fp));
      previousTp = tp;
      previousFp = fp;
    }
  }
  return { auc: area, ap };
}
