// prepareFoldTraining: the one builder of a fold's samples, network and Trainer that the experiment
// and `spottune train` share. A hand-made cache and splits (8^3 volumes) and a tiny ResNet10.
import { describe, expect, test } from 'vitest';
import type { Modality } from '../../lib/config/data.js';
import type { PreparedCohort } from '../../lib/data/cache.js';
import type { Splits } from '../../lib/data/splits.js';
import { prepareFoldTraining } from '../../lib/train/fold.js';
import { requireNative } from '../helpers/native.js';

requireNative();

const shape: [number, number, number] = [8, 8, 8];
const ids = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
const labels = Object.fromEntries(ids.map((id, i) => [id, (i % 2) as 0 | 1]));
// p5 has no DTI_FA volume (the cache skipped it): it must drop out of its fold
const cache = {
  dir: '/nowhere',
  shape,
  params: {},
  patients: ids.map((id) => ({ id, label: labels[id], modalities: id === 'p5' ? ['DTI_AD'] : ['DTI_FA', 'DTI_AD'] })),
  skipped: [],
  path: () => '/nowhere',
  load: async (id: string, modality: Modality) =>
    Float32Array.from({ length: 512 }, (_, i) => ((i * (ids.indexOf(id) + 3)) % 11) / 11 + (modality === 'DTI_FA' ? 0 : 1)),
} as unknown as PreparedCohort;
const splits = {
  format: 'spottune3d-splits',
  version: 1,
  config: {},
  groups: {
    DTI: {
      train: ids.slice(0, 6),
      test: ids.slice(6),
      folds: [
        { train: ['p0', 'p1', 'p2', 'p3'], validation: ['p4', 'p5'] },
        { train: ['p2', 'p3', 'p4', 'p5'], validation: ['p0', 'p1'] },
      ],
    },
  },
  commonTest: ids.slice(6),
  labels,
} as unknown as Splits;

const base = {
  cache,
  splits,
  modality: 'DTI_FA' as const,
  weights: null,
  network: { kind: 'random' as const, depth: 10 as const, seed: 1 },
};

describe('prepareFoldTraining', () => {
  test("the fold's patients with the modality, the network and the Trainer, from the given settings", async () => {
    await using run = await prepareFoldTraining({
      ...base,
      fold: 1,
      augment: false,
      train: { epochs: 2, batchSize: 2 },
      meta: (network) => ({ depth: network.config.depth }),
    });
    expect(run.base.map((s) => s.id)).toEqual(['p2', 'p3', 'p4']);
    expect(run.train).toBe(run.base);
    expect(run.validation.map((s) => [s.id, s.label])).toEqual([
      ['p0', 0],
      ['p1', 1],
    ]);
    expect(run.network.config).toMatchObject({ kind: 'random', depth: 10, seed: 1 });
    expect(run.trainer.config).toMatchObject({ epochs: 2, batchSize: 2, gumbelTau: 100 });
    expect(run.trainer.batchesPerEpoch).toBe(2);
    const volume = await run.validation[1].load();
    expect(volume).toEqual(await cache.load('p1', 'DTI_FA'));
  });

  test("augmentation expands the training fold with the study's recipe (balanced) and leaves validation alone", async () => {
    await using run = await prepareFoldTraining({ ...base, fold: 0, augment: {} });
    // 4 base samples, 2 per class, each with 4 augmented copies: 20, already balanced
    expect(run.base).toHaveLength(4);
    expect(run.train).toHaveLength(20);
    expect(run.validation.map((s) => s.id)).toEqual(['p4']);
  });

  test('BAD INPUT: an unknown fold, a network without its weights', async () => {
    await expect(prepareFoldTraining({ ...base, fold: 2, augment: false })).rejects.toThrow(
      /fold to be an integer in \[0, 1\] but received 2/,
    );
    await expect(prepareFoldTraining({ ...base, fold: 0, augment: false, network: { kind: 'spottune' } })).rejects.toThrow(
      /spottune network starts from MedicalNet weights/,
    );
    await expect(prepareFoldTraining({ ...base, modality: 'T1', fold: 0, augment: false })).rejects.toThrow(/no group struct/);
  });
});
