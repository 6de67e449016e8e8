/**
 * scikit-learn's splitters, index for index: `train_test_split` (plain and stratified, i.e.
 * ShuffleSplit / StratifiedShuffleSplit) and `KFold` / `StratifiedKFold`, driven by numpy's legacy
 * MT19937 `RandomState`. Given the same samples in the same order and the same `random_state`,
 * each returns exactly what scikit-learn 1.2 returns (verified against python3-sklearn).
 * @module
 */
import { RandomState } from '../util/random-state.js';
import { checkInteger, checkNumber, describeValue } from '../util/validate.js';

/** Class labels of the samples to stratify on: numbers, strings or booleans (one kind). */
export type ClassLabels = readonly (number | string | boolean)[];

/** Positions (into the input order) of a train/test partition. */
export interface IndexSplit {
  train: number[];
  test: number[];
}

/** Options of {@link trainTestSplitIndices}. */
export interface TrainTestSplitOptions {
  /** A fraction in (0, 1) (test count = ceil(fraction * n)) or a count >= 1, as scikit-learn. */
  testSize: number;
  /** numpy RandomState seed (scikit-learn's `random_state`). */
  seed: number;
  /** Labels to stratify on (StratifiedShuffleSplit); omit for a plain shuffled split. */
  stratify?: ClassLabels;
}

/** Options of {@link kFoldIndices}. */
export interface KFoldOptions {
  /** Number of folds, at least 2 and at most the number of samples (scikit-learn's `n_splits`). */
  nSplits: number;
  /** Shuffle the samples (per class, when stratified) before cutting folds; false keeps their order. */
  shuffle: boolean;
  /** numpy RandomState seed; used only when shuffle is true. */
  seed?: number;
  /** Labels to stratify on (StratifiedKFold); omit for KFold. */
  stratify?: ClassLabels;
}

/** scikit-learn's `_validate_shuffle_split` for a given test size and no train size. */
function testCount(n: number, testSize: number): number {
  checkNumber(testSize, 'testSize', { min: Number.MIN_VALUE });
  let nTest: number;
  if (testSize < 1) nTest = Math.ceil(testSize * n);
  else if (Number.isInteger(testSize)) nTest = testSize;
  else throw new RangeError(`Expected testSize to be a fraction in (0, 1) or an integer count but received ${testSize}`);
  if (nTest >= n) {
    throw new RangeError(`testSize=${testSize} leaves no training samples out of ${n} (test would hold ${nTest})`);
  }
  return nTest;
}

/**
 * Classes in numpy's `np.unique` order (ascending) and each sample's class index.
 * @throws {TypeError} on mixed or unsupported label types
 */
function encodeClasses(labels: ClassLabels, name: string): { classes: (number | string | boolean)[]; index: Int32Array } {
  if (!Array.isArray(labels)) throw new TypeError(`Expected ${name} to be an array of class labels but received ${describeValue(labels)}`);
  const kind = typeof labels[0];
  labels.forEach((label, i) => {
    if (typeof label !== kind || !['number', 'string', 'boolean'].includes(kind) || (kind === 'number' && Number.isNaN(label))) {
      throw new TypeError(`Expected ${name}[${i}] to be a ${kind} label like ${name}[0] but received ${describeValue(label)}`);
    }
  });
  const classes = [...new Set(labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const position = new Map(classes.map((c, i) => [c, i]));
  return { classes, index: Int32Array.from(labels, (label) => position.get(label)!) };
}

/**
 * scikit-learn's `_approximate_mode`: how many of `nDraws` to take from each class, the floor of
 * the proportional share plus one for the largest remainders, ties broken at random by `rng`.
 */
function approximateMode(classCounts: readonly number[], nDraws: number, rng: RandomState): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const continuous = classCounts.map((c) => (c / total) * nDraws);
  const floored = continuous.map(Math.floor);
  let needToAdd = nDraws - floored.reduce((a, b) => a + b, 0);
  if (needToAdd > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, needToAdd);
      for (const i of rng.choiceWithoutReplacement(inds, addNow)) floored[i] += 1;
      needToAdd -= addNow;
      if (needToAdd === 0) break;
    }
  }
  return floored;
}

/**
 * The positions of `train_test_split(range(n), test_size, random_state=seed, stratify=labels)`:
 * train and test in scikit-learn's (shuffled) order.
 * @param n Number of samples (must equal stratify.length when stratifying)
 * @throws {RangeError} when the sizes leave an empty side, or a class has fewer than 2 members,
 *   or a side is smaller than the number of classes (scikit-learn's rules)
 */
export function trainTestSplitIndices(n: number, { testSize, seed, stratify }: TrainTestSplitOptions): IndexSplit {
  checkInteger(n, 'n', { min: 2 });
  const nTest = testCount(n, testSize);
  const nTrain = n - nTest;
  const rng = new RandomState(seed);
  if (!stratify) {
    const permutation = rng.permutation(n);
    return { test: permutation.slice(0, nTest), train: permutation.slice(nTest, nTest + nTrain) };
  }
  if (stratify.length !== n) {
    throw new RangeError(`Expected ${n} stratify labels but received ${stratify.length}`);
  }
  const { classes, index } = encodeClasses(stratify, 'stratify');
  const classCounts = classes.map((_, c) => index.reduce((count, k) => count + (k === c ? 1 : 0), 0));
  const smallest = Math.min(...classCounts);
  if (smallest < 2) {
    const label = classes[classCounts.indexOf(smallest)];
    throw new RangeError(`Class ${JSON.stringify(label)} has only ${smallest} member; a stratified split needs at least 2 per class`);
  }
  if (nTrain < classes.length)
    throw new RangeError(`The training side (${nTrain}) is smaller than the number of classes (${classes.length})`);
  if (nTest < classes.length) throw new RangeError(`The test side (${nTest}) is smaller than the number of classes (${classes.length})`);
  // Members of each class in input order (np.argsort(kind='mergesort') is stable).
  const classIndices = classes.map((_, c) => Array.from(index.keys()).filter((i) => index[i] === c));
  const nI = approximateMode(classCounts, nTrain, rng);
  const tI = approximateMode(
    classCounts.map((c, i) => c - nI[i]),
    nTest,
    rng,
  );
  const train: number[] = [];
  const test: number[] = [];
  classIndices.forEach((members, c) => {
    const shuffled = rng.permutation(classCounts[c]).map((p) => members[p]);
    for (let i = 0; i < nI[c]; i++) train.push(shuffled[i]); // loops, not push(...): cohorts are unbounded
    for (let i = nI[c]; i < nI[c] + tI[c]; i++) test.push(shuffled[i]);
  });
  return { train: rng.permutation(train), test: rng.permutation(test) };
}

/**
 * The folds of `KFold` / `StratifiedKFold(n_splits, shuffle, random_state=seed).split(X, labels)`:
 * for each fold, the training and validation positions, both ascending, as scikit-learn yields
 * them.
 * @throws {RangeError} when nSplits > n, or (stratified) when every class has fewer than nSplits
 *   members (scikit-learn's rule; it only warns when some class does)
 */
export function kFoldIndices(n: number, { nSplits, shuffle, seed, stratify }: KFoldOptions): IndexSplit[] {
  checkInteger(nSplits, 'nSplits', { min: 2 });
  checkInteger(n, 'n', { min: nSplits });
  if (shuffle && seed === undefined) throw new TypeError('Expected a seed when shuffle is true (a fixed random_state)');
  const testFolds = new Int32Array(n);
  if (!stratify) {
    const order = Array.from({ length: n }, (_, i) => i);
    if (shuffle) new RandomState(seed!).shuffle(order);
    let start = 0;
    for (let fold = 0; fold < nSplits; fold++) {
      const size = Math.floor(n / nSplits) + (fold < n % nSplits ? 1 : 0);
      for (let i = start; i < start + size; i++) testFolds[order[i]] = fold;
      start += size;
    }
  } else {
    if (stratify.length !== n) throw new RangeError(`Expected ${n} stratify labels but received ${stratify.length}`);
    stratifiedTestFolds(stratify, nSplits, shuffle ? new RandomState(seed!) : undefined, testFolds);
  }
  return Array.from({ length: nSplits }, (_, fold) => {
    const split: IndexSplit = { train: [], test: [] };
    testFolds.forEach((f, i) => (f === fold ? split.test : split.train).push(i));
    return split;
  });
}

/** scikit-learn's `StratifiedKFold._make_test_folds`. */
function stratifiedTestFolds(labels: ClassLabels, nSplits: number, rng: RandomState | undefined, testFolds: Int32Array): void {
  const { index } = encodeClasses(labels, 'stratify');
  // Re-encode classes by order of first appearance, as scikit-learn does.
  const appearance = new Map<number, number>();
  for (const k of index) if (!appearance.has(k)) appearance.set(k, appearance.size);
  const encoded = Int32Array.from(index, (k) => appearance.get(k)!);
  const nClasses = appearance.size;
  const counts = new Array<number>(nClasses).fill(0);
  for (const k of encoded) counts[k]++;
  if (counts.every((c) => nSplits > c)) {
    throw new RangeError(`nSplits=${nSplits} cannot be greater than the number of members in each class (${counts.join(', ')})`);
  }
  // Round-robin allocation over the sorted labels: allocation[fold][class].
  const sorted = Int32Array.from(encoded).sort();
  const allocation = Array.from({ length: nSplits }, () => new Array<number>(nClasses).fill(0));
  sorted.forEach((k, i) => allocation[i % nSplits][k]++);
  for (let k = 0; k < nClasses; k++) {
    const foldsForClass: number[] = [];
    allocation.forEach((row, fold) => {
      for (let r = 0; r < row[k]; r++) foldsForClass.push(fold);
    });
    if (rng) rng.shuffle(foldsForClass);
    let at = 0;
    encoded.forEach((c, i) => {
      if (c === k) testFolds[i] = foldsForClass[at++];
    });
  }
}
