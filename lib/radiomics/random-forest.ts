/**
 * A binary random-forest classifier with scikit-learn's semantics (RandomForestClassifier with
 * criterion "gini"): bootstrap samples, a fresh draw of `maxFeatures` features at every split,
 * best threshold by weighted Gini, `maxDepth`, `minSamplesLeaf` / `minSamplesSplit` counted in
 * distinct training rows, and `predictProba` = the mean over trees of the leaf's class-1 fraction.
 * Random draws come from its own seeded generator, so results equal scikit-learn's in
 * distribution, not draw for draw (test/radiomics/random-forest.test.ts compares the two).
 * @module
 */
import { RandomForestSchema, type RandomForestConfig, type RandomForestOptions } from '../config/radiomics.js';
import { describeValue } from '../util/validate.js';

/** scikit-learn's FEATURE_THRESHOLD: values closer than this are not split apart. */
const FEATURE_THRESHOLD = 1e-7;
/** scikit-learn's EPSILON for pure nodes. */
const IMPURITY_EPSILON = Number.EPSILON;

/** A small, fast, seeded generator (sfc32, seeded through splitmix32). */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }
  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.uint32() / 4294967296) * n);
  }
}

/**
 * One fitted tree in flat arrays, node 0 the root (scikit-learn's `tree_` layout). Leaves have
 * feature -1; rows with x[feature] <= threshold go left.
 */
export interface DecisionTree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Weighted fraction of class 1 among the node's bootstrap rows. */
  value: Float64Array;
  /** Distinct training rows in the node (scikit-learn's n_node_samples). */
  samples: Int32Array;
  /** Depth of the node (root 0). */
  depth: Int32Array;
}
type Tree = DecisionTree;

/**
 * Random forest for binary labels (0/1).
 * @example
 * const forest = new RandomForestClassifier({ nEstimators: 500, seed: 1 }).fit(X, y);
 * const p = forest.predictProba(Xtest); // P(y = 1) per row
 * @see https://scikit-learn.org/stable/modules/generated/sklearn.ensemble.RandomForestClassifier.html
 */
export class RandomForestClassifier {
  /** The resolved options (defaults: the study's 10,000 trees, depth 5, 10 rows per leaf). */
  readonly config: RandomForestConfig;
  private trees: Tree[] = [];
  private nFeatures = 0;

  constructor(options: RandomForestOptions = {}) {
    this.config = RandomForestSchema.parse(options);
  }

  /**
   * Grows the forest.
   * @param X rows of features, [nSamples][nFeatures], finite
   * @param y labels, 0/1 (or booleans), one per row
   * @throws TypeError/RangeError naming X or y
   */
  fit(X: ArrayLike<ArrayLike<number>>, y: ArrayLike<number | boolean>): this {
    const { columns, n, p } = checkMatrix(X, 'X');
    if (!y || y.length !== n) throw new RangeError(`Expected y to hold ${n} labels (one per row of X) but received ${describeValue(y)}`);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(y[i]);
      if (v !== 0 && v !== 1) throw new RangeError(`Expected y to hold 0/1 labels but y[${i}] is ${describeValue(y[i])}`);
      labels[i] = v;
    }
    const cfg = this.config;
    const maxFeatures = Math.min(
      p,
      cfg.maxFeatures === 'sqrt'
        ? Math.max(1, Math.floor(Math.sqrt(p)))
        : cfg.maxFeatures === 'log2'
          ? Math.max(1, Math.floor(Math.log2(p)))
          : cfg.maxFeatures === 'all'
            ? p
            : cfg.maxFeatures,
    );
    // Rows in ascending order of each feature, computed once: a node lists its rows in feature
    // order by filtering this order through its membership flags.
    const order = columns.map((col) => Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => col[a] - col[b]));
    const rng = new Random(cfg.seed);
    this.trees = [];
    this.nFeatures = p;
    for (let t = 0; t < cfg.nEstimators; t++) {
      const weight = new Float64Array(n);
      if (cfg.bootstrap) for (let k = 0; k < n; k++) weight[rng.int(n)] += 1;
      else weight.fill(1);
      this.trees.push(growTree(columns, labels, weight, order, maxFeatures, cfg, rng));
    }
    return this;
  }

  /**
   * P(y = 1) per row: the mean over trees of the weighted class-1 fraction of the row's leaf
   * (scikit-learn's predict_proba(X)[:, 1]).
   * @throws Error when called before fit; RangeError for a wrong number of features
   */
  predictProba(X: ArrayLike<ArrayLike<number>>): Float64Array {
    if (this.trees.length === 0) throw new Error('RandomForestClassifier.predictProba called before fit()');
    const { columns, n, p } = checkMatrix(X, 'X');
    if (p !== this.nFeatures) throw new RangeError(`Expected X to have ${this.nFeatures} features (as in fit) but it has ${p}`);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (const tree of this.trees) {
        let node = 0;
        while (tree.feature[node] >= 0) node = columns[tree.feature[node]][i] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
        sum += tree.value[node];
      }
      out[i] = sum / this.trees.length;
    }
    return out;
  }

  /** The fitted trees. */
  get estimators(): readonly DecisionTree[] {
    return this.trees;
  }
}

function checkMatrix(X: ArrayLike<ArrayLike<number>>, name: string): { columns: Float64Array[]; n: number; p: number } {
  if (!X || typeof X.length !== 'number' || X.length === 0)
    throw new TypeError(`Expected ${name} to be a non-empty array of rows but received ${describeValue(X)}`);
  const n = X.length;
  const p = X[0]?.length;
  if (typeof p !== 'number' || p === 0)
    throw new TypeError(`Expected ${name}[0] to be a non-empty row of numbers but received ${describeValue(X[0])}`);
  const columns = Array.from({ length: p }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const row = X[i];
    if (!row || row.length !== p)
      throw new RangeError(`Expected every row of ${name} to have ${p} features but ${name}[${i}] is ${describeValue(row)}`);
    for (let j = 0; j < p; j++) {
      const v = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new RangeError(`Expected finite numbers in ${name} but ${name}[${i}][${j}] is ${describeValue(v)}`);
      columns[j][i] = v;
    }
  }
  return { columns, n, p };
}

/** Depth-first growth of one tree, as scikit-learn's DepthFirstTreeBuilder with BestSplitter. */
function growTree(
  columns: Float64Array[],
  labels: Uint8Array,
  weight: Float64Array,
  order: Int32Array[],
  maxFeatures: number,
  cfg: RandomForestConfig,
  rng: Random,
): Tree {
  const n = labels.length;
  const p = columns.length;
  const maxDepth = cfg.maxDepth ?? Infinity;
  const feature: number[] = [],
    threshold: number[] = [],
    left: number[] = [],
    right: number[] = [],
    value: number[] = [];
  const samples: number[] = [],
    depths: number[] = [];
  const member = new Uint8Array(n);
  const features = Int32Array.from({ length: p }, (_, j) => j);
  const sortedRows = new Int32Array(n);

  const build = (rows: Int32Array, depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    samples.push(rows.length);
    depths.push(depth);
    let wTotal = 0,
      wPos = 0;
    for (const i of rows) {
      wTotal += weight[i];
      if (labels[i]) wPos += weight[i];
    }
    value.push(wPos / wTotal);
    const q = wPos / wTotal;
    const impurity = 1 - q * q - (1 - q) * (1 - q);
    const count = rows.length;
    if (depth >= maxDepth || count < cfg.minSamplesSplit || count < 2 * cfg.minSamplesLeaf || impurity <= IMPURITY_EPSILON) return id;

    // Draw features without replacement until maxFeatures non-constant ones were evaluated.
    let bestScore = -Infinity,
      bestFeature = -1,
      bestThreshold = 0;
    let evaluated = 0;
    for (let k = 0; k < p && evaluated < maxFeatures; k++) {
      const pick = k + rng.int(p - k);
      [features[k], features[pick]] = [features[pick], features[k]];
      const f = features[k];
      const col = columns[f];
      for (const i of rows) member[i] = 1;
      let m = 0;
      for (const i of order[f]) if (member[i]) sortedRows[m++] = i;
      for (const i of rows) member[i] = 0;
      if (col[sortedRows[m - 1]] <= col[sortedRows[0]] + FEATURE_THRESHOLD) continue; // constant here
      evaluated++;
      let wl = 0,
        wlPos = 0;
      for (let s = 0; s < m - 1; s++) {
        const i = sortedRows[s];
        wl += weight[i];
        if (labels[i]) wlPos += weight[i];
        const nLeft = s + 1;
        if (nLeft < cfg.minSamplesLeaf) continue;
        if (m - nLeft < cfg.minSamplesLeaf) break;
        const a = col[i],
          b = col[sortedRows[s + 1]];
        if (b <= a + FEATURE_THRESHOLD) continue;
        // scikit-learn's Gini proxy: maximise sum_c wLc^2 / wL + sum_c wRc^2 / wR.
        const wr = wTotal - wl,
          wrPos = wPos - wlPos;
        const score = (wlPos * wlPos + (wl - wlPos) * (wl - wlPos)) / wl + (wrPos * wrPos + (wr - wrPos) * (wr - wrPos)) / wr;
        if (score > bestScore) {
          bestScore = score;
          bestFeature = f;
          let t = a / 2 + b / 2;
          if (t === b || !Number.isFinite(t)) t = a;
          bestThreshold = t;
        }
      }
    }
    if (bestFeature < 0) return id;
    const col = columns[bestFeature];
    const leftRows = rows.filter((i) => col[i] <= bestThreshold);
    const rightRows = rows.filter((i) => col[i] > bestThreshold);
    feature[id] = bestFeature;
    threshold[id] = bestThreshold;
    left[id] = build(leftRows, depth + 1);
    right[id] = build(rightRows, depth + 1);
    return id;
  };

  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (weight[i] > 0) rows.push(i);
  build(Int32Array.from(rows), 0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
    samples: Int32Array.from(samples),
    depth: Int32Array.from(depths),
  };
}
