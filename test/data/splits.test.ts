// numpy RandomState, scikit-learn's splitters and the study's protocol against python3-sklearn
// (fixtures: scripts/fixtures/data/splits-sklearn.py).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { RandomState } from '../../lib/util/random-state.js';
import { kFoldIndices, trainTestSplitIndices } from '../../lib/data/split-sklearn.js';
import { loadOrMakeStudySplits, makeStudySplits, readSplits, type SplitPatient } from '../../lib/data/splits.js';
import type { CohortPatient } from '../../lib/data/cohort.js';

// The cohort's patients are split patients as they are (checked by tsc).
const cohortPatientsAreSplitPatients: readonly SplitPatient[] = [] as CohortPatient[];
void cohortPatientsAreSplitPatients;

interface Fixture {
  randomState: {
    seed: number | number[];
    skip?: number;
    randomSample: number[];
    permutation?: number[];
    randint?: number[];
    choice?: number[];
  }[];
  cases: {
    labels: number[];
    seed: number;
    testSize: number;
    nSplits: number;
    shuffle: boolean;
    stratified: { train: number[]; test: number[] };
    plain: { train: number[]; test: number[] };
    stratifiedKFold: number[][];
    kFold: number[][];
  }[];
  study: {
    patients: { id: string; label: 0 | 1; sources: string[] }[];
    anchor: string;
    sources: string[];
    expected: {
      sources: Record<string, { train: string[]; test: string[]; folds: { train: string[]; validation: string[] }[] }>;
      commonTest: string[];
    };
  }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/data/splits-sklearn.json', import.meta.url), 'utf8')) as Fixture;

describe('RandomState matches numpy', () => {
  test.each(fixture.randomState.map((r, i) => [i, r] as const))('stream %i', (_, r) => {
    const rng = new RandomState(r.seed);
    if (r.skip) for (let i = 0; i < r.skip; i++) rng.nextUint32();
    expect(Array.from({ length: r.randomSample.length }, () => rng.randomSample())).toEqual(r.randomSample);
    if (r.permutation) expect(rng.permutation(17)).toEqual(r.permutation);
    if (r.randint) expect([1, 2, 3, 7, 100, 1000, 2 ** 31, 2 ** 32].map((n) => rng.randint(0, n))).toEqual(r.randint);
    if (r.choice)
      expect(
        rng.choiceWithoutReplacement(
          Array.from({ length: 20 }, (_, i) => i + 10),
          6,
        ),
      ).toEqual(r.choice);
  });

  test('BAD CALL: seeds outside [0, 2^32 - 1]', () => {
    expect(() => new RandomState(-1)).toThrow(RangeError);
    expect(() => new RandomState(2 ** 32)).toThrow(/seed/);
    expect(() => new RandomState(1.5)).toThrow(TypeError);
    expect(() => new RandomState([])).toThrow(RangeError);
  });
});

describe('scikit-learn splitters, index for index', () => {
  test.each(fixture.cases.map((c, i) => [i, c.labels.length, c.seed, c] as const))('case %i (n=%i, seed %i)', (_, n, seed, c) => {
    expect(trainTestSplitIndices(n, { testSize: c.testSize, seed, stratify: c.labels })).toEqual(c.stratified);
    expect(trainTestSplitIndices(n, { testSize: c.testSize, seed })).toEqual(c.plain);
    const options = { nSplits: c.nSplits, shuffle: c.shuffle, seed };
    expect(kFoldIndices(n, { ...options, stratify: c.labels }).map((f) => f.test)).toEqual(c.stratifiedKFold);
    expect(kFoldIndices(n, options).map((f) => f.test)).toEqual(c.kFold);
  });

  test('folds partition the samples; train is the complement of validation', () => {
    const c = fixture.cases[0];
    const folds = kFoldIndices(c.labels.length, { nSplits: 5, shuffle: true, seed: 42, stratify: c.labels });
    const all = folds.flatMap((f) => f.test).sort((a, b) => a - b);
    expect(all).toEqual(c.labels.map((_, i) => i));
    for (const f of folds) expect(f.train.length + f.test.length).toBe(c.labels.length);
  });

  test('string labels stratify like numbers', () => {
    const y = ['M', 'U', 'U', 'M', 'U', 'M', 'U', 'U', 'M', 'U'];
    const numeric = y.map((v) => (v === 'M' ? 0 : 1));
    expect(trainTestSplitIndices(10, { testSize: 0.3, seed: 42, stratify: y })).toEqual(
      trainTestSplitIndices(10, { testSize: 0.3, seed: 42, stratify: numeric }),
    );
  });

  test('BAD CALL: a class with one member, sizes leaving nothing to train', () => {
    expect(() => trainTestSplitIndices(5, { testSize: 0.3, seed: 1, stratify: [0, 0, 0, 0, 1] })).toThrow(/only 1 member/);
    expect(() => trainTestSplitIndices(4, { testSize: 4, seed: 1 })).toThrow(/no training samples/);
    expect(() => kFoldIndices(4, { nSplits: 5, shuffle: false })).toThrow(RangeError);
    expect(() => kFoldIndices(8, { nSplits: 5, shuffle: true, seed: 1, stratify: [0, 0, 0, 0, 1, 1, 1, 1] })).toThrow(/cannot be greater/);
  });
});

function toPatients(study: Fixture['study'][number]): SplitPatient[] {
  return study.patients.map((p) => ({ id: p.id, label: p.label, groups: p.sources }));
}

describe('the study protocol', () => {
  test.each(fixture.study.map((s, i) => [i, s] as const))('reproduces the scikit-learn reference %i', (_, study) => {
    const splits = makeStudySplits(toPatients(study), { anchor: study.anchor }, { groups: study.sources });
    expect(Object.keys(splits.groups)).toEqual(study.sources);
    for (const source of study.sources) expect(splits.groups[source]).toEqual(study.expected.sources[source]);
    expect(splits.commonTest).toEqual(study.expected.commonTest);
  });

  test('a UPENN-GBM-like cohort gives the paper counts: 132/57 DSC, 151 DTI, 183 Struct, 57 common', () => {
    const study = fixture.study[0];
    const splits = makeStudySplits(toPatients(study), {}, { groups: ['Struct', 'DTI', 'DSC'] });
    const sizes = Object.fromEntries(Object.entries(splits.groups).map(([g, s]) => [g, [s.train.length, s.test.length]]));
    expect(sizes).toEqual({ Struct: [183, 79], DTI: [151, 67], DSC: [132, 57] });
    expect(splits.commonTest).toHaveLength(57);
    // Non-DSC patients come first in each training pool.
    const dsc = new Set(splits.groups.DSC.train);
    expect(splits.groups.Struct.train.slice(0, 51).some((id) => dsc.has(id))).toBe(false);
    expect(splits.groups.Struct.train.slice(51).every((id) => dsc.has(id))).toBe(true);
  });

  test('when every patient has every group, all groups share the anchor split', () => {
    const patients: SplitPatient[] = Array.from({ length: 40 }, (_, i) => ({
      id: `P${String(i).padStart(2, '0')}`,
      label: (i % 3 === 0 ? 1 : 0) as 0 | 1,
      groups: ['struct', 'DTI', 'DSC'],
    }));
    const splits = makeStudySplits(patients);
    expect(splits.groups.DTI.train).toEqual(splits.groups.DSC.train);
    expect(splits.groups.struct.test).toEqual(splits.groups.DSC.test);
    expect(splits.commonTest).toEqual(splits.groups.DSC.test);
    expect(splits.commonTest).toHaveLength(12); // ceil(0.3 * 40)
    expect(splits.groups.DSC.folds).toHaveLength(5);
  });

  test('input order does not matter when IDs are sorted (the default)', () => {
    const patients = toPatients(fixture.study[1]);
    const a = makeStudySplits(patients, { anchor: 'B' });
    const b = makeStudySplits([...patients].reverse(), { anchor: 'B' });
    expect(b).toEqual(a);
  });

  test('another seed is configuration', () => {
    const patients = toPatients(fixture.study[1]);
    const a = makeStudySplits(patients, { anchor: 'B' });
    const b = makeStudySplits(patients, { anchor: 'B', seed: 7 });
    expect(b.commonTest).not.toEqual(a.commonTest);
    expect(b.config.seed).toBe(7);
  });

  test('the plain splitter (no stratification) partitions too', () => {
    const patients = toPatients(fixture.study[1]);
    const splits = makeStudySplits(patients, { anchor: 'B', stratify: false });
    const b = splits.groups.B;
    expect(b.train.length + b.test.length).toBe(patients.filter((p) => p.groups.includes('B')).length);
  });

  test('BAD CALL: too few patients of a class for 5 folds', () => {
    const patients: SplitPatient[] = Array.from({ length: 20 }, (_, i) => ({ id: `P${i}`, label: i < 5 ? 1 : 0, groups: ['DSC'] }));
    expect(() => makeStudySplits(patients)).toThrow(/DSC training pool has \d methylated patients; stratified 5-fold/);
  });

  test('BAD CALL: a modality group with no patients', () => {
    const patients: SplitPatient[] = Array.from({ length: 30 }, (_, i) => ({ id: `P${i}`, label: (i % 2) as 0 | 1, groups: ['DSC'] }));
    expect(() => makeStudySplits(patients, {}, { groups: ['DSC', 'DTI'] })).toThrow(/group "DTI" has no patients/);
  });

  test('BAD CALL: a bad label, a duplicate ID, a wrong config type', () => {
    expect(() => makeStudySplits([{ id: 'A', label: 2 as 0, groups: ['DSC'] }])).toThrow(/label/);
    expect(() =>
      makeStudySplits([
        { id: 'A', label: 1, groups: ['DSC'] },
        { id: 'A', label: 1, groups: ['DSC'] },
      ]),
    ).toThrow(/twice/);
    expect(() => makeStudySplits([], { folds: 'five' as unknown as number })).toThrow(/folds/);
  });
});

describe('splits files', () => {
  test('written once, then reused; a different config or cohort is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'splits-'));
    const path = join(dir, 'splits.json');
    const patients = toPatients(fixture.study[1]);
    const first = await loadOrMakeStudySplits(path, patients, { anchor: 'B' });
    expect(first.reused).toBe(false);
    expect(await readSplits(path)).toEqual(first.splits);
    const second = await loadOrMakeStudySplits(path, patients, { anchor: 'B' });
    expect(second).toEqual({ splits: first.splits, reused: true });
    await expect(loadOrMakeStudySplits(path, patients, { anchor: 'B', seed: 1 })).rejects.toThrow(/delete it to re-split/);
    const flipped = patients.map((p, i) => (i === 0 ? { ...p, label: (1 - p.label) as 0 | 1 } : p));
    await expect(loadOrMakeStudySplits(path, flipped, { anchor: 'B' })).rejects.toThrow(new RegExp(patients[0].id));
  });

  test('a corrupt splits file names the bad key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'splits-'));
    const path = join(dir, 'splits.json');
    const splits = makeStudySplits(toPatients(fixture.study[1]), { anchor: 'B' });
    writeFileSync(path, JSON.stringify({ ...splits, commonTest: 'x' }));
    await expect(readSplits(path)).rejects.toThrow(/commonTest/);
  });
});
