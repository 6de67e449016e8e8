/**
 * From fold models to the paper's ensembles (docs/study.md section 5, "Ensembling"):
 * Gumbel samples averaged per fold model, fold models averaged into one derivative model per
 * modality, and each ensemble the flat mean over its derivative models, scored on the common test
 * set. Pure TypeScript over probabilities; no addon. Scoring is lib/report's summarizeEnsemble.
 * @module
 */

/** Probabilities of one model for named patients. */
export interface PatientProbabilities {
  patients: string[];
  probabilities: number[];
}

/**
 * The element-wise mean of equally long probability vectors (Gumbel samples of one fold model,
 * or the fold models of one derivative).
 * @throws {RangeError} when there is nothing to average or the lengths differ
 */
export function meanOf(vectors: readonly ArrayLike<number>[], what = 'vectors'): number[] {
  if (vectors.length === 0) throw new RangeError(`Expected at least one of ${what} to average`);
  const n = vectors[0].length;
  const out = new Array<number>(n).fill(0);
  for (const [i, v] of vectors.entries()) {
    if (v.length !== n) throw new RangeError(`Expected ${what}[${i}] to have ${n} values but it has ${v.length}`);
    for (let j = 0; j < n; j++) out[j] += v[j];
  }
  return out.map((x) => x / vectors.length);
}

/**
 * One derivative model: the mean of its fold models' probabilities on the same patients.
 * Fold models may list the patients in different orders; the result follows the first.
 */
export function averageFolds(folds: readonly PatientProbabilities[]): PatientProbabilities {
  if (folds.length === 0) throw new RangeError('Expected at least one fold model to average');
  const patients = folds[0].patients;
  const aligned = folds.map((f, i) => select(f, patients, `fold ${i}`));
  return { patients: [...patients], probabilities: meanOf(aligned, 'fold models') };
}

/** The probabilities of `patients`, in that order. */
export function select(model: PatientProbabilities, patients: readonly string[], what = 'model'): number[] {
  const index = new Map(model.patients.map((p, i) => [p, i]));
  return patients.map((p) => {
    const i = index.get(p);
    if (i === undefined) throw new RangeError(`${what} has no prediction for patient ${p}`);
    return model.probabilities[i];
  });
}

/**
 * An ensemble: the flat mean over its derivative models on `patients` (the common test set), so
 * a group weighs in proportion to its number of derivatives, as the study averaged them.
 * @param derivatives derivative models by modality
 * @param members the modalities the ensemble averages (groups already expanded)
 */
export function ensemble(
  derivatives: ReadonlyMap<string, PatientProbabilities>,
  members: readonly string[],
  patients: readonly string[],
): number[] {
  const missing = members.filter((m) => !derivatives.has(m));
  if (missing.length > 0) throw new RangeError(`The ensemble needs derivative models that did not train: ${missing.join(', ')}`);
  return meanOf(
    members.map((m) => select(derivatives.get(m)!, patients, `the ${m} model`)),
    'derivative models',
  );
}
