/**
 * The study's patient partition (docs/study.md section 4): a stratified 70/30 train/test split
 * of the patients who have the anchor modality group (DSC, seed 42); each other group's patients
 * without the anchor split the same way on their own and put first; every ensemble scored on the
 * common test set (the test patients every group shares); stratified 5-fold cross-validation
 * (shuffled, seed 42) of each group's training pool. The partitions are scikit-learn's, index for
 * index ({@link trainTestSplitIndices}, {@link kFoldIndices}), so sorted UPENN-GBM IDs give the
 * study's exact membership. The result is written to a splits file that later runs reuse.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { resolveSplitConfig, SplitSchema, type SplitConfig, type SplitOptions } from '../config/experiment.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { describeValue } from '../util/validate.js';
import { kFoldIndices, trainTestSplitIndices } from './split-sklearn.js';

/** One patient as the splitter sees it. */
export interface SplitPatient {
  /** Patient ID, e.g. `UPENN-GBM-00002_11`. */
  id: string;
  /** 1 = MGMT methylated, 0 = unmethylated. */
  label: 0 | 1;
  /** The modality groups the patient has images for, e.g. `['struct', 'DTI', 'DSC']`. */
  groups: readonly string[];
}

/** One cross-validation fold of a group's training pool. */
export interface FoldSplit {
  train: string[];
  validation: string[];
}

/** The partition of one modality group. */
export interface GroupSplit {
  /** Training pool, in the study's order (non-anchor patients first, then anchor patients). */
  train: string[];
  /** Test patients of this group (a superset of the common test set). */
  test: string[];
  folds: FoldSplit[];
}

/** A splits file: everything later runs need to reuse the partition. */
export interface Splits {
  format: 'spottune3d-splits';
  version: 1;
  config: SplitConfig;
  /** Groups in the order they were requested. */
  groups: Record<string, GroupSplit>;
  /** Test patients shared by every group, in the anchor's test order: where every ensemble is scored. */
  commonTest: string[];
  /** The label of every patient in the partition. */
  labels: Record<string, 0 | 1>;
}

/** Options of {@link makeStudySplits} beyond the split configuration. */
export interface StudySplitOptions {
  /** Groups to partition; each must have patients. Default: every group a patient has, sorted. */
  groups?: readonly string[];
}

function checkPatients(patients: readonly SplitPatient[]): void {
  if (!Array.isArray(patients)) throw new TypeError(`Expected patients to be an array but received ${describeValue(patients)}`);
  const seen = new Set<string>();
  patients.forEach((p, i) => {
    if (typeof p?.id !== 'string' || p.id === '')
      throw new TypeError(`Expected patients[${i}].id to be a non-empty string but received ${describeValue(p?.id)}`);
    if (p.label !== 0 && p.label !== 1)
      throw new TypeError(`Expected patients[${i}].label (${p.id}) to be 0 or 1 but received ${describeValue(p.label)}`);
    if (!Array.isArray(p.groups))
      throw new TypeError(`Expected patients[${i}].groups (${p.id}) to be an array but received ${describeValue(p.groups)}`);
    if (seen.has(p.id)) throw new RangeError(`Patient ${p.id} appears twice in patients`);
    seen.add(p.id);
  });
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Splits `ids` (in this order) into train and test as scikit-learn's
 * `train_test_split(ids, test_size, random_state=seed, stratify=labels)` would.
 */
function splitIds(
  ids: readonly string[],
  labels: Record<string, 0 | 1>,
  config: SplitConfig,
  what: string,
): { train: string[]; test: string[] } {
  if (ids.length === 0) return { train: [], test: [] };
  const y = ids.map((id) => labels[id]);
  try {
    const { train, test } = trainTestSplitIndices(ids.length, {
      testSize: config.testSize,
      seed: config.seed,
      stratify: config.stratify ? y : undefined,
    });
    return { train: train.map((i) => ids[i]), test: test.map((i) => ids[i]) };
  } catch (err) {
    throw new RangeError(
      `Cannot split ${what} (${ids.length} patients, ${y.filter((v) => v === 1).length} methylated): ${(err as Error).message}`,
    );
  }
}

/**
 * Builds the study's splits from the cohort.
 * @param patients Every patient with a definite MGMT status and the groups they have images for.
 * @param config Split settings ({@link SplitSchema}: seed, test size, folds, anchor, stratify).
 * @throws {RangeError} when a group has no patients, a class has too few patients for the
 *   stratified split or for `folds` folds of a training pool, or the anchor is not a group
 * @see docs/study.md section 4
 */
export function makeStudySplits(patients: readonly SplitPatient[], config: SplitOptions = {}, options: StudySplitOptions = {}): Splits {
  const resolved = resolveSplitConfig(config);
  checkPatients(patients);
  const labels: Record<string, 0 | 1> = {};
  for (const p of patients) labels[p.id] = p.label;
  const groups = options.groups ? [...options.groups] : [...new Set(patients.flatMap((p) => p.groups))].sort(byCodeUnit);
  if (groups.length === 0) throw new RangeError('No modality group to split: the patients have no images');
  const members = new Map<string, string[]>();
  for (const group of groups) {
    const ids = patients.filter((p) => p.groups.includes(group)).map((p) => p.id);
    if (ids.length === 0) throw new RangeError(`Modality group ${JSON.stringify(group)} has no patients`);
    members.set(group, resolved.sortIds ? ids.sort(byCodeUnit) : ids);
  }
  const anchor = resolved.anchor;
  if (anchor !== null && !members.has(anchor)) {
    throw new RangeError(`The anchor group ${JSON.stringify(anchor)} is not among the groups split (${groups.join(', ')})`);
  }
  const anchorSplit = anchor === null ? undefined : splitIds(members.get(anchor)!, labels, resolved, `the ${anchor} patients`);
  const anchorIds = new Set(anchor === null ? [] : members.get(anchor)!);
  const out: Record<string, GroupSplit> = {};
  for (const group of groups) {
    let train: string[];
    let test: string[];
    if (anchorSplit && group === anchor) ({ train, test } = anchorSplit);
    else {
      const mine = new Set(members.get(group)!);
      const own = splitIds(
        members.get(group)!.filter((id) => !anchorIds.has(id)),
        labels,
        resolved,
        anchor === null ? `the ${group} patients` : `the ${group} patients without ${anchor}`,
      );
      // Index.union(sort=False): this group's own patients first, then the anchor's that it has.
      train = [...own.train, ...(anchorSplit?.train.filter((id) => mine.has(id)) ?? [])];
      test = [...own.test, ...(anchorSplit?.test.filter((id) => mine.has(id)) ?? [])];
    }
    out[group] = { train, test, folds: makeFolds(group, train, labels, resolved) };
  }
  const order = anchorSplit ? anchorSplit.test : out[groups[0]].test;
  const testSets = groups.map((g) => new Set(out[g].test));
  const commonTest = order.filter((id) => testSets.every((s) => s.has(id)));
  const used = new Set(groups.flatMap((g) => [...out[g].train, ...out[g].test]));
  const usedLabels: Record<string, 0 | 1> = {};
  for (const id of [...used].sort(byCodeUnit)) usedLabels[id] = labels[id];
  return { format: 'spottune3d-splits', version: 1, config: resolved, groups: out, commonTest, labels: usedLabels };
}

function makeFolds(group: string, train: readonly string[], labels: Record<string, 0 | 1>, config: SplitConfig): FoldSplit[] {
  const y = train.map((id) => labels[id]);
  if (config.stratify) {
    for (const cls of [1, 0] as const) {
      const count = y.filter((v) => v === cls).length;
      if (count < config.folds) {
        throw new RangeError(
          `The ${group} training pool has ${count} ${cls ? 'methylated' : 'unmethylated'} patients; ` +
            `stratified ${config.folds}-fold cross-validation needs at least ${config.folds} of each class`,
        );
      }
    }
  } else if (train.length < config.folds) {
    throw new RangeError(
      `The ${group} training pool has ${train.length} patients; ${config.folds}-fold cross-validation needs at least ${config.folds}`,
    );
  }
  return kFoldIndices(train.length, {
    nSplits: config.folds,
    shuffle: config.shuffle,
    seed: config.seed,
    stratify: config.stratify ? y : undefined,
  }).map(({ train: t, test: v }) => ({ train: t.map((i) => train[i]), validation: v.map((i) => train[i]) }));
}

const idList = z.array(z.string());
const SplitsFileSchema = z
  .object({
    format: z.literal('spottune3d-splits'),
    version: z.literal(1),
    config: SplitSchema,
    groups: z.record(
      z.string(),
      z.object({ train: idList, test: idList, folds: z.array(z.object({ train: idList, validation: idList }).strict()) }).strict(),
    ),
    commonTest: idList,
    labels: z.record(z.string(), z.union([z.literal(0), z.literal(1)])),
  })
  .strict();

/** Writes a splits file atomically (pretty JSON). */
export function writeSplits(path: string, splits: Splits): Promise<void> {
  return writeJsonAtomic(path, splits);
}

/**
 * Reads and validates a splits file.
 * @throws {Error} naming the file and the first invalid key
 */
export async function readSplits(path: string): Promise<Splits> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read the splits file ${path}: ${(err as Error).message}`);
  }
  const parsed = SplitsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid splits file ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data as Splits;
}

/**
 * Reuses the splits file at `path` when it exists, else makes the study's splits and writes them
 * there. A reused file must agree with the cohort and configuration: same split settings, and every
 * patient it names present with the same label.
 * @throws {Error} when the file disagrees (delete it, or use another output directory)
 */
export async function loadOrMakeStudySplits(
  path: string,
  patients: readonly SplitPatient[],
  config: SplitOptions = {},
  options: StudySplitOptions = {},
): Promise<{ splits: Splits; reused: boolean }> {
  if (!existsSync(path)) {
    const splits = makeStudySplits(patients, config, options);
    await writeSplits(path, splits);
    return { splits, reused: false };
  }
  const splits = await readSplits(path);
  const resolved = resolveSplitConfig(config);
  if (JSON.stringify(splits.config) !== JSON.stringify(resolved)) {
    throw new Error(
      `The splits file ${path} was made with ${JSON.stringify(splits.config)}, not ${JSON.stringify(resolved)}; delete it to re-split`,
    );
  }
  checkPatients(patients);
  const labels = new Map(patients.map((p) => [p.id, p.label]));
  for (const [id, label] of Object.entries(splits.labels)) {
    if (labels.get(id) !== label) {
      throw new Error(
        `The splits file ${path} names patient ${id} (label ${label}), ${labels.has(id) ? `labelled ${labels.get(id)} in the cohort` : 'absent from the cohort'}; delete it to re-split`,
      );
    }
  }
  for (const group of options.groups ?? []) {
    if (!splits.groups[group]) throw new Error(`The splits file ${path} has no group ${JSON.stringify(group)}; delete it to re-split`);
  }
  return { splits, reused: true };
}
