// The experiment configuration: the paper's values, strictness with key paths and suggestions,
// and the committed configs/ files kept in step with the schema.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEVICE_PATTERN, isDevice } from '../../lib/config/device.js';
import { NetworkSchema } from '../../lib/config/model.js';
import {
  ConfigError,
  describeConfigIssues,
  expandEnsemble,
  experimentJsonSchema,
  loadExperimentConfig,
  resolveExperimentConfig,
} from '../../lib/config/experiment.js';

const configs = new URL('../../configs/', import.meta.url);

function issuesOf(options: unknown): string {
  try {
    resolveExperimentConfig(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('the paper defaults', () => {
  const config = resolveExperimentConfig({});
  test('splits, evaluation and statistics', () => {
    expect(config.networks).toEqual(['spottune', 'random', 'transfer']);
    expect(config.modalities).toHaveLength(11);
    expect(config.splits).toMatchObject({ seed: 42, testSize: 0.3, folds: 5, shuffle: true, stratify: true, anchor: 'DSC' });
    expect(config.evaluation).toMatchObject({ gumbelSamples: 100, gumbelSeed: 42, threshold: 0.5 });
    expect(config.stats.nemenyiClamp).toBe(false);
  });
  test('training and network values come from lib/config/train.ts and model.ts', () => {
    expect(config.train).toMatchObject({
      epochs: 90,
      batchSize: 12,
      gumbelTau: 100,
      senWeight: 0.6,
      senThreshold: 0.5,
      speThreshold: 0.5,
      threshold: 0.5,
    });
    expect(config.network).toMatchObject({
      depth: 50,
      learningRate: 1e-5,
      agentLearningRate: 1e-4,
      weightDecay: 1e-8,
      agentWeightDecay: 1e-8,
    });
    expect(config.network.scheduler).toMatchObject({ mode: 'max', factor: 0.1, patience: 20 });
    expect(config.network).not.toHaveProperty('kind');
    expect(config.augment.kinds).toEqual(['flip', 'rotate', 'noise', 'deform']);
  });
  test('the seven ensembles average 3, 4, 4, 7, 7, 8 and 11 derivative models', () => {
    const sizes = Object.fromEntries(Object.entries(config.ensembles).map(([name, members]) => [name, expandEnsemble(members).length]));
    expect(sizes).toEqual({ DSC: 3, DTI: 4, Struct: 4, 'DSC+DTI': 7, 'DSC+Struct': 7, 'DTI+Struct': 8, 'DSC+DTI+Struct': 11 });
  });
});

describe('committed files', () => {
  const hint = 'out of date: run `npm run build:ts && node scripts/write-experiment-config.mjs`';
  test('configs/experiment.schema.json is the schema generated from zod', () => {
    const committed = JSON.parse(readFileSync(new URL('experiment.schema.json', configs), 'utf8'));
    expect(committed, `configs/experiment.schema.json is ${hint}`).toEqual(experimentJsonSchema());
  });
  test('configs/paper.json states every resolved value of the paper', async () => {
    const path = new URL('paper.json', configs).pathname;
    const { $schema, ...stated } = JSON.parse(readFileSync(path, 'utf8'));
    expect($schema).toBe('./experiment.schema.json');
    expect(stated, `configs/paper.json is ${hint}`).toEqual(resolveExperimentConfig({}));
    expect(await loadExperimentConfig(path)).toEqual({ $schema, ...resolveExperimentConfig({}) });
  });
});

describe('BAD CONFIG: errors name the key path', () => {
  test('an unknown key suggests the nearest one', () => {
    expect(issuesOf({ splits: { sed: 1 } })).toMatch(/splits\.sed: Unknown key "sed"; did you mean "seed"\?/);
    expect(issuesOf({ netwroks: ['spottune'] })).toMatch(/netwroks: Unknown key "netwroks"; did you mean "networks"\?/);
    expect(issuesOf({ train: { epoch: 3 } })).toMatch(/train\.epoch: .*did you mean "epochs"/);
    expect(issuesOf({ network: { scheduler: { patiense: 3 } } })).toMatch(/network\.scheduler\.patiense: .*did you mean "patience"/);
  });
  test('a wrong type', () => {
    expect(issuesOf({ train: { epochs: '90' } })).toMatch(/train\.epochs: .*number/i);
    expect(issuesOf({ splits: { testSize: -1 } })).toMatch(/splits\.testSize/);
  });
  test('an unknown modality or network', () => {
    expect(issuesOf({ modalities: ['T1', 'FLAIRR'] })).toMatch(/modalities\.1: Unknown value "FLAIRR".*did you mean "FLAIR"\?/);
    expect(issuesOf({ networks: ['spotune'] })).toMatch(/networks\.0: .*did you mean "spottune"\?/);
  });
  test('an ensemble member that does not exist, or is not in the grid', () => {
    expect(issuesOf({ ensembles: { mine: ['DSCC'] } })).toMatch(/ensembles\.mine\.0: Unknown ensemble member "DSCC".*did you mean "DSC"\?/);
    expect(issuesOf({ modalities: ['T1'], ensembles: { mine: ['DSC'] } })).toMatch(
      /ensembles\.mine: Ensemble mine needs modality DSC_ap-rCBV/,
    );
  });
  test('an unknown anchor group', () => {
    expect(issuesOf({ splits: { anchor: 'dsc' } })).toMatch(/splits\.anchor: .*did you mean "DSC"\?/);
  });
  test('a retired key says where its setting went', () => {
    expect(issuesOf({ network: { gumbelTau: 5 } })).toMatch(
      /network\.gumbelTau: network\.gumbelTau was removed: .*set train\.gumbelTau instead/,
    );
    expect(issuesOf({ evaluation: { commonTestOnly: false } })).toMatch(
      /evaluation\.commonTestOnly: .*every ensemble is scored on the common test set/,
    );
    // the same name elsewhere is an ordinary unknown key
    expect(issuesOf({ splits: { gumbelTau: 5 } })).toMatch(/splits\.gumbelTau: Unknown key "gumbelTau"/);
    // the network's own options (createNetwork) reject it the same way
    const parsed = NetworkSchema.safeParse({ gumbelTau: 5 });
    expect(parsed.success).toBe(false);
    expect(describeConfigIssues(NetworkSchema, parsed.error!)).toEqual([
      { path: 'gumbelTau', message: expect.stringMatching(/set train\.gumbelTau instead/) },
    ]);
  });
  test('one temperature: train.gumbelTau, a constant or an epoch schedule', () => {
    expect(
      resolveExperimentConfig({
        train: {
          gumbelTau: [
            [0, 100],
            [10, 5],
          ],
        },
      }).train.gumbelTau,
    ).toEqual([
      [0, 100],
      [10, 5],
    ]);
    expect(Object.keys(NetworkSchema.shape)).not.toContain('gumbelTau');
    expect(JSON.stringify(experimentJsonSchema())).not.toMatch(/commonTestOnly/);
  });
  test('a device is cpu, cuda or cuda:N everywhere', () => {
    expect(issuesOf({ network: { device: 'gpu' } })).toMatch(/network\.device: expected 'cpu', 'cuda' or 'cuda:N'/);
    expect(issuesOf({ augment: { device: 'cuda:x' } })).toMatch(/augment\.device: expected 'cpu', 'cuda' or 'cuda:N'/);
    expect(resolveExperimentConfig({ network: { device: 'cuda:1' }, augment: { device: 'cuda' } })).toMatchObject({
      network: { device: 'cuda:1' },
      augment: { device: 'cuda' },
    });
    expect(['cpu', 'cuda', 'cuda:0', 'cuda:12'].every((d) => isDevice(d) && DEVICE_PATTERN.test(d))).toBe(true);
    expect(['', 'CPU', 'cuda:', 'mps', 'cuda:-1', 7].some((d) => isDevice(d))).toBe(false);
  });
  test('every problem is listed', () => {
    try {
      resolveExperimentConfig({ splits: { sed: 1 }, train: { epochs: 'x' } });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual(['splits.sed', 'train.epochs']);
      expect((err as ConfigError).code).toBe('ERR_INVALID_CONFIG');
    }
  });
  test('a file that is not JSON, or missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    writeFileSync(join(dir, 'bad.json'), '{ "splits": ');
    await expect(loadExperimentConfig(join(dir, 'bad.json'))).rejects.toThrow(/not valid JSON/);
    await expect(loadExperimentConfig(join(dir, 'none.json'))).rejects.toThrow(ConfigError);
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ evaluation: { gumbelSample: 10 } }));
    await expect(loadExperimentConfig(join(dir, 'typo.json'))).rejects.toThrow(
      /typo\.json:\n  - evaluation\.gumbelSample: .*did you mean "gumbelSamples"/,
    );
  });
});
