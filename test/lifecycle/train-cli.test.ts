// `spottune train` end to end on a small synthetic cohort: prepare, split, train one fold with the
// study's augmentation, resume a finished run, and refuse bad calls with a clear message.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));
const dist = new URL('../../dist/lib/index.js', import.meta.url).href;
const root = mkdtempSync(join(tmpdir(), 'train-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 600_000 });

beforeAll(() => {
  const synth = cli('data', 'synth', '--out', join(root, 'cohort'), '--patients', '12', '--size', 'small', '--no-progress');
  expect(synth.status, synth.stderr).toBe(0);
  const prep = cli(
    'data',
    'prepare',
    '--data',
    join(root, 'cohort'),
    '--out',
    join(root, 'cache'),
    '--modalities',
    'DTI_FA',
    '--crop',
    'small',
    '--no-progress',
  );
  expect(prep.status, prep.stderr).toBe(0);
  // two folds of the DTI pool, written as the experiment would
  const script = `
    const lib = await import(${JSON.stringify(dist)});
    const cache = await lib.openCache(${JSON.stringify(join(root, 'cache'))});
    const patients = cache.patients.map((p) => ({ id: p.id, label: p.label, groups: ['DTI'] }));
    await lib.writeSplits(${JSON.stringify(join(root, 'splits.json'))}, lib.makeStudySplits(patients, { anchor: null, folds: 2, testSize: 0.2 }));`;
  const split = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(split.status, split.stderr).toBe(0);
});

test('trains one fold with augmentation, writes the run folder, and resumes a finished run to the same selection', () => {
  const out = join(root, 'run');
  const args = [
    'train',
    '--cache',
    join(root, 'cache'),
    '--modality',
    'DTI_FA',
    '--network',
    'random',
    '--depth',
    '10',
    '--fold',
    '1',
    '--splits',
    join(root, 'splits.json'),
    '--out',
    out,
    '--epochs',
    '1',
    '--batch-size',
    '4',
    '--no-progress',
  ];
  const first = cli(...args);
  expect(first.status, first.stderr).toBe(0);
  expect(first.stdout).toMatch(/epoch 0: val M [\d.]+, SEN/);
  for (const f of ['checkpoint.pth', 'model.pth', 'metrics.jsonl', 'metrics.csv', 'selection.json', 'config.resolved.json'])
    expect(existsSync(join(out, f)), f).toBe(true);
  const resolved = JSON.parse(readFileSync(join(out, 'config.resolved.json'), 'utf8'));
  expect(resolved.meta).toMatchObject({ modality: 'DTI_FA', network: 'random', fold: 1, augment: true });
  // the training set is the fold's patients x 5, balanced
  const splits = JSON.parse(readFileSync(join(root, 'splits.json'), 'utf8'));
  const fold = splits.groups.DTI.folds[1].train as string[];
  const positives = fold.filter((id) => splits.labels[id] === 1).length;
  expect(resolved.trainSamples).toBe(2 * 5 * Math.min(positives, fold.length - positives));
  expect(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(2);

  const again = cli(...args, '--resume');
  expect(again.status, again.stderr).toBe(0);
  expect(again.stdout.split('\n')[0]).toBe(first.stdout.split('\n')[0]);
});

test('BAD CALL: missing weights, unknown modality and a bad fold say what to do', () => {
  const base = ['train', '--cache', join(root, 'cache'), '--fold', '0', '--out', join(root, 'bad'), '--splits', join(root, 'splits.json')];
  const noWeights = cli(...base, '--modality', 'DTI_FA', '--network', 'spottune');
  expect(noWeights.status).toBe(1);
  expect(noWeights.stderr).toMatch(/--weights resnet_50\.pth/);
  const typo = cli(...base, '--modality', 'DTI_FB', '--network', 'random');
  expect(typo.status).toBe(1);
  expect(typo.stderr).toMatch(/did you mean "DTI_FA"/);
  const fold = cli(
    'train',
    '--cache',
    join(root, 'cache'),
    '--fold',
    '7',
    '--out',
    join(root, 'bad'),
    '--splits',
    join(root, 'splits.json'),
    '--modality',
    'DTI_FA',
    '--network',
    'random',
  );
  expect(fold.status).toBe(1);
  expect(fold.stderr).toMatch(/--fold in \[0, 1\]/);
});
