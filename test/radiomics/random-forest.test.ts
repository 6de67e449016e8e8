// The random forest against scikit-learn's RandomForestClassifier on a fixed dataset
// (test/fixtures/radiomics/rf-sklearn.json, made by scripts/fixtures/radiomics/rf-sklearn.py).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { RandomForestClassifier } from '../../lib/radiomics/index.js';
import { rocAuc } from '../../lib/stats/index.js';
import { normalCdf } from '../../lib/stats/distributions.js';

interface Fixture {
  X: number[][];
  y: number[];
  nTrain: number;
  trees100: { seeds: number[]; auc: number[]; meanProba: number[] };
  trees10000: { seed: number; auc: number; proba: number[] };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/radiomics/rf-sklearn.json', import.meta.url), 'utf8')) as Fixture;
const Xtrain = fixture.X.slice(0, fixture.nTrain),
  ytrain = fixture.y.slice(0, fixture.nTrain);
const Xtest = fixture.X.slice(fixture.nTrain),
  ytest = fixture.y.slice(fixture.nTrain);
const study = { maxDepth: 5, minSamplesLeaf: 10 } as const;

const mean = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const variance = (a: number[]): number => a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1);

describe('statistically indistinguishable from scikit-learn (max_depth 5, min_samples_leaf 10, sqrt features)', () => {
  const aucs: number[] = [];
  const probaSum = new Float64Array(Xtest.length);
  for (const seed of fixture.trees100.seeds) {
    const p = new RandomForestClassifier({ ...study, nEstimators: 100, seed }).fit(Xtrain, ytrain).predictProba(Xtest);
    aucs.push(rocAuc(ytest, p));
    p.forEach((v, i) => (probaSum[i] += v / fixture.trees100.seeds.length));
  }

  test('test AUC over 30 seeds, 100 trees: Welch test does not reject equal means (two-sided p > 0.01)', () => {
    const theirs = fixture.trees100.auc;
    const z = (mean(aucs) - mean(theirs)) / Math.sqrt(variance(aucs) / aucs.length + variance(theirs) / theirs.length);
    const pValue = 2 * (1 - normalCdf(Math.abs(z)));
    expect(pValue, `ours ${mean(aucs).toFixed(4)} vs scikit-learn ${mean(theirs).toFixed(4)}`).toBeGreaterThan(0.01);
    expect(Math.abs(mean(aucs) - mean(theirs))).toBeLessThan(0.02);
    expect(Math.max(...aucs)).toBeGreaterThan(Math.min(...theirs)); // the ranges overlap
    expect(Math.min(...aucs)).toBeLessThan(Math.max(...theirs));
  });

  test("the seed-averaged probabilities per test patient follow scikit-learn's", () => {
    const theirs = fixture.trees100.meanProba;
    const diffs = Array.from(probaSum, (v, i) => Math.abs(v - theirs[i]));
    expect(mean(diffs)).toBeLessThan(0.02);
    expect(Math.max(...diffs)).toBeLessThan(0.08);
  });

  test("the study's 10,000 trees: AUC within 0.02 of scikit-learn's, probabilities within 0.05", () => {
    const forest = new RandomForestClassifier({ seed: fixture.trees10000.seed }); // library defaults
    expect(forest.config).toMatchObject({ nEstimators: 10_000, maxDepth: 5, minSamplesLeaf: 10, maxFeatures: 'sqrt' });
    const p = forest.fit(Xtrain, ytrain).predictProba(Xtest);
    expect(Math.abs(rocAuc(ytest, p) - fixture.trees10000.auc)).toBeLessThan(0.02);
    p.forEach((v, i) => expect(Math.abs(v - fixture.trees10000.proba[i])).toBeLessThan(0.05));
  });
});

// With bootstrap off and every feature evaluated, one tree has nothing random left: it must be
// scikit-learn's, node for node (test/fixtures/radiomics/rf-tree-sklearn.json, made by
// scripts/fixtures/radiomics/rf-tree-sklearn.py on a dataset checked to have no tied splits).
describe("one deterministic tree equals scikit-learn's (bootstrap off, all features)", () => {
  interface TreeFixture {
    X: number[][];
    y: number[];
    nTrain: number;
    trees: Record<
      string,
      {
        maxDepth: number;
        minSamplesLeaf: number;
        feature: number[];
        threshold: number[];
        left: number[];
        right: number[];
        value: number[];
        samples: number[];
        proba: number[];
      }
    >;
  }
  const tf = JSON.parse(readFileSync(new URL('../fixtures/radiomics/rf-tree-sklearn.json', import.meta.url), 'utf8')) as TreeFixture;
  test.each(Object.entries(tf.trees))('%s settings: same splits, thresholds, leaf values and probabilities', (_, ref) => {
    const [X, y] = [tf.X.slice(0, tf.nTrain), tf.y.slice(0, tf.nTrain)];
    for (const seed of [0, 1, 2]) {
      const forest = new RandomForestClassifier({
        nEstimators: 1,
        bootstrap: false,
        maxFeatures: 'all',
        maxDepth: ref.maxDepth,
        minSamplesLeaf: ref.minSamplesLeaf,
        seed,
      }).fit(X, y);
      const [tree] = forest.estimators;
      // scikit-learn marks a leaf with feature -2 and children -1; the library with feature -1
      expect(Array.from(tree.feature, (f) => (f < 0 ? -2 : f))).toEqual(ref.feature);
      const inner = ref.feature.map((f, i) => (f >= 0 ? i : -1)).filter((i) => i >= 0);
      expect(inner.map((i) => [tree.left[i], tree.right[i]])).toEqual(inner.map((i) => [ref.left[i], ref.right[i]]));
      // scikit-learn fits on float32 copies of X, so its midpoints differ in the 8th digit
      inner.forEach((i) => expect(tree.threshold[i]).toBeCloseTo(ref.threshold[i], 6));
      expect(Array.from(tree.samples)).toEqual(ref.samples);
      tree.value.forEach((v, i) => expect(v).toBeCloseTo(ref.value[i], 12));
      forest.predictProba(tf.X.slice(tf.nTrain)).forEach((p, i) => expect(p).toBeCloseTo(ref.proba[i], 12));
    }
  });
});

describe('tree rules', () => {
  const forest = new RandomForestClassifier({ ...study, nEstimators: 50, seed: 3 }).fit(Xtrain, ytrain);

  test('no node deeper than maxDepth; every leaf holds at least minSamplesLeaf distinct rows', () => {
    for (const tree of forest.estimators) {
      expect(Math.max(...tree.depth)).toBeLessThanOrEqual(5);
      tree.feature.forEach((f, node) => {
        if (f < 0) expect(tree.samples[node]).toBeGreaterThanOrEqual(10);
        else expect(tree.samples[tree.left[node]] + tree.samples[tree.right[node]]).toBe(tree.samples[node]);
      });
    }
    expect(forest.estimators.some((t) => Math.max(...t.depth) === 5)).toBe(true);
  });

  test('a fixed seed reproduces the forest; another seed changes it', () => {
    const again = new RandomForestClassifier({ ...study, nEstimators: 50, seed: 3 }).fit(Xtrain, ytrain);
    const other = new RandomForestClassifier({ ...study, nEstimators: 50, seed: 4 }).fit(Xtrain, ytrain);
    expect(again.predictProba(Xtest)).toEqual(forest.predictProba(Xtest));
    expect(other.predictProba(Xtest)).not.toEqual(forest.predictProba(Xtest));
  });

  test('probabilities are in [0, 1]; a separable feature is learnt', () => {
    const X = Array.from({ length: 60 }, (_, i) => [i, (i * 7) % 13]);
    const y = X.map(([a]) => (a >= 30 ? 1 : 0));
    const p = new RandomForestClassifier({ nEstimators: 30, maxFeatures: 'all', seed: 1 }).fit(X, y).predictProba([
      [5, 0],
      [55, 0],
    ]);
    expect(p[0]).toBeLessThan(0.1);
    expect(p[1]).toBeGreaterThan(0.9);
  });

  test('BAD CALL: mismatched labels, non-binary labels, NaN features, predict before fit', () => {
    const rf = new RandomForestClassifier({ nEstimators: 2 });
    expect(() => rf.fit([[1], [2]], [0])).toThrow(/y to hold 2 labels/);
    expect(() => rf.fit([[1], [2]], [0, 2])).toThrow(RangeError);
    expect(() => rf.fit([[1], [NaN]], [0, 1])).toThrow(/X\[1\]\[0\] is NaN/);
    expect(() => rf.predictProba([[1]])).toThrow(/before fit/);
    expect(() => new RandomForestClassifier({ maxDepth: 0 })).toThrow();
  });
});
