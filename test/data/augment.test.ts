import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { expandTrainingSet, flip, randomElasticDeform, randomNoise, randomRotate, deriveSeed, type VolumeSample } from '../../lib/index.js';
import { requireNative } from '../helpers/native.js';
import { randomVolume } from './transforms/reference.js';

requireNative();
const shape = [6, 7, 8];

function cohort(labels: (0 | 1)[]): VolumeSample[] {
  return labels.map((label, i) => ({ id: `P${String(i).padStart(3, '0')}`, label, load: async () => randomVolume(shape, i + 1) }));
}

describe('expandTrainingSet', () => {
  test('each sample gains flip, rotate, noise and deform copies of its base; without balancing nothing is dropped', () => {
    const { samples, dropped, counts } = expandTrainingSet(cohort([0, 1, 0]), shape, { balance: false });
    expect(samples.map((s) => s.id)).toEqual([
      'P000',
      'P000_flip',
      'P000_rotate',
      'P000_noise',
      'P000_deform',
      'P001',
      'P001_flip',
      'P001_rotate',
      'P001_noise',
      'P001_deform',
      'P002',
      'P002_flip',
      'P002_rotate',
      'P002_noise',
      'P002_deform',
    ]);
    expect(samples.filter((s) => s.baseId === 'P001').every((s) => s.label === 1)).toBe(true);
    expect(dropped).toEqual([]);
    expect(counts.before).toEqual({ positive: 5, negative: 10 });
  });

  test('balancing drops the majority over the whole pool exactly as REF: pandas sample(frac=1, random_state=42), last k removed', () => {
    const labels: (0 | 1)[] = [0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0];
    const { samples, dropped, counts } = expandTrainingSet(cohort(labels), shape);
    expect(counts.before).toEqual({ positive: 15, negative: 40 });
    expect(counts.after).toEqual({ positive: 15, negative: 15 });
    expect(samples).toHaveLength(30);
    const pool = expandTrainingSet(cohort(labels), shape, { balance: false }).samples;
    const negatives = pool.filter((s) => s.label === 0).map((s) => s.id);
    const script = `
import json, sys, pandas as pd
ids = json.loads(sys.argv[1])
s = pd.Series(ids).sample(frac=1, random_state=42)
print(json.dumps(list(s)[-25:]))`;
    const expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(negatives)], { encoding: 'utf8' }));
    expect(dropped).toEqual(expected);
    // survivors keep pool order; base volumes can be dropped too
    const kept = samples.map((s) => s.id);
    expect(kept).toEqual(pool.map((s) => s.id).filter((id) => !dropped.includes(id)));
  });

  test('a positive majority loses positives; a balanced set loses nothing', () => {
    expect(expandTrainingSet(cohort([1, 1, 0]), shape).counts.after).toEqual({ positive: 5, negative: 5 });
    expect(expandTrainingSet(cohort([1, 0]), shape).dropped).toEqual([]);
  });

  test('copies load as the transforms with the per-sample seed, the same volume on every load', async () => {
    const base = cohort([1]);
    const { samples, config } = expandTrainingSet(base, shape, { balance: false });
    const volume = { data: await base[0].load(), shape };
    const byKind = Object.fromEntries(samples.map((s) => [s.augmentation, s]));
    expect(Array.from(await byKind.base.load())).toEqual(Array.from(volume.data));
    expect(Array.from(await byKind.flip.load())).toEqual(Array.from((await flip(volume, { axes: [0, 1, 2] })).image.data));
    const seed = (kind: string) => deriveSeed(config.seed, 'P000', kind);
    expect(Array.from(await byKind.rotate.load())).toEqual(Array.from((await randomRotate(volume, { seed: seed('rotate') })).image.data));
    expect(Array.from(await byKind.noise.load())).toEqual(Array.from((await randomNoise(volume, { seed: seed('noise') })).image.data));
    const deform = await byKind.deform.load();
    expect(Array.from(deform)).toEqual(Array.from((await randomElasticDeform(volume, { seed: seed('deform') })).image.data));
    expect(Array.from(await byKind.deform.load())).toEqual(Array.from(deform));
    expect(Array.from(await byKind.rotate.load())).not.toEqual(Array.from(volume.data)); // REF's rotate copy was the base
  });

  test('memoize keeps a copy after its first load and hands out fresh arrays', async () => {
    let loads = 0;
    const base: VolumeSample[] = [{ id: 'A', label: 0, load: async () => (loads++, randomVolume(shape)) }];
    const { samples } = expandTrainingSet(base, shape, { balance: false, memoize: true, kinds: ['deform'] });
    const a = await samples[1].load();
    const b = await samples[1].load();
    expect(loads).toBe(1);
    expect(a).not.toBe(b);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  test('BAD CALL: malformed samples, duplicate ids, labels and options', () => {
    expect(() =>
      expandTrainingSet(
        cohort([0, 0]).map((s) => ({ ...s, id: 'X' })),
        shape,
      ),
    ).toThrow(/Duplicate sample id "X"/);
    expect(() => expandTrainingSet([{ id: 'a', label: 2 as 1, load: async () => new Float32Array() }], shape)).toThrow(
      /samples\[0\]\.label/,
    );
    expect(() => expandTrainingSet([{ id: 'a' } as VolumeSample], shape)).toThrow(TypeError);
    expect(() => expandTrainingSet(cohort([0]), [1, 2])).toThrow(/shape/);
    expect(() => expandTrainingSet(cohort([0]), shape, { kinds: ['shear' as 'flip'] })).toThrow();
    expect(() => expandTrainingSet(cohort([0]), shape, { extra: 1 } as object)).toThrow();
  });
});
