// The whole protocol end to end on a tiny synthetic cohort: setup, the grid, Gumbel-averaged
// evaluation, ensembles, statistics, the radiomics baseline and the report; then a resumed run,
// and the errors that must come before any training.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createNetwork,
  runExperiment,
  savePth,
  setupExperiment,
  synthCohort,
  type ExperimentOptions,
  type StateDict,
} from '../../lib/index.js';
import { readJobResult } from '../../lib/experiment/plan.js';
import type { ExperimentResults } from '../../lib/report/types.js';
import { requireNative } from '../helpers/native.js';

requireNative();

const root = mkdtempSync(join(tmpdir(), 'spottune-experiment-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, 'data');
const weights = join(root, 'resnet_10.pth');

const modalities = ['FLAIR', 'DTI_FA', 'DSC_ap-rCBV'];
const config: ExperimentOptions = {
  modalities,
  ensembles: { DSC: ['DSC_ap-rCBV'], DTI: ['DTI_FA'], Struct: ['FLAIR'], 'DSC+DTI+Struct': modalities },
  splits: { folds: 2 },
  network: { depth: 10, learningRate: 3e-3 },
  train: { epochs: 1, batchSize: 8 },
  augment: { kinds: ['flip'] },
  preprocess: { crop: 'tumour', scale: 0.25, padTo: null },
  evaluation: { gumbelSamples: 2 },
  stats: { bootstrapResamples: 50 },
};

beforeAll(async () => {
  await synthCohort({ out: data, patients: 30, size: 'small', seed: 7, signal: 4 });
  // A MedicalNet-layout checkpoint ({'state_dict': {'module.conv1.weight', ...}}, no classifier).
  const net = await createNetwork({ kind: 'resnet', depth: 10, seed: 3 });
  const state: StateDict = new Map();
  for (const [k, v] of await net.stateDict()) if (!k.startsWith('fc.')) state.set(`module.${k}`, v);
  net.dispose();
  await savePth(weights, new Map([['state_dict', state]]));
}, 300_000);

describe('runExperiment', () => {
  const out = join(root, 'exp');

  // 18 trainings, 9 evaluations and 3 study jobs: about 4 minutes on a loaded 2-core machine (the default is 2)
  test('runs every job and writes the report with all networks, ensembles, statistics and the baseline', { timeout: 600_000 }, async () => {
    const run = await runExperiment({ data, out, config, weights, synthetic: true, concurrency: 2 });
    expect(run.summary.failed).toEqual([]);
    expect(run.summary.done).toHaveLength(run.jobs);
    expect(run.jobs).toBe(3 * 3 * 2 + 3 * 3 + 3);
    expect(run.reportPath).toBe(join(out, 'report', 'report.html'));
    const html = readFileSync(run.reportPath!, 'utf8');
    expect(html).toContain('Synthetic data');
    expect(html).toContain('Radiomics RF');
    expect(html).toMatch(/<svg/);

    const results = await readJobResult<ExperimentResults>(out, 'analysis');
    expect(results.networks).toEqual(['spottune', 'random', 'transfer']);
    expect(results.testPatients.length).toBeGreaterThan(2);
    for (const network of results.networks) {
      expect(Object.keys(results.ensembles[network]).sort()).toEqual(['DSC', 'DSC+DTI+Struct', 'DTI', 'Struct']);
      for (const e of Object.values(results.ensembles[network])) {
        expect(e.probabilities).toHaveLength(results.testPatients.length);
        // the reported AUC is the ensemble's own: recomputed here by pair counting (ties count half)
        expect(e.metrics.auc.value).toBeCloseTo(
          pairAuc(
            results.testPatients.map((p) => p.label),
            e.probabilities!,
          ),
          12,
        );
      }
    }
    // the flat mean over derivative models, on the common test set
    const evals = await Promise.all(
      modalities.map((m) => readJobResult<{ patients: string[]; probabilities: number[] }>(out, `evaluate.random.${m}`)),
    );
    const id = results.testPatients[0].id;
    const expected = evals.reduce((s, e) => s + e.probabilities[e.patients.indexOf(id)], 0) / 3;
    expect(results.ensembles.random['DSC+DTI+Struct'].probabilities![0]).toBeCloseTo(expected, 12);
    expect(Object.keys(results.statistics ?? {})).toHaveLength(4);
    expect(results.baseline?.name).toBe('Radiomics RF');
    // SpotTune's policies: [patient][block] fractions of Gumbel samples, 4 blocks for ResNet10
    expect(results.policies?.[0].fractions[0]).toHaveLength(4);
    expect(existsSync(join(out, 'runs', 'spottune', 'FLAIR', 'fold1', 'model.pth'))).toBe(true);
  });

  test('a second run reuses every finished job', async () => {
    const run = await runExperiment({ data, out, config, weights, synthetic: true });
    expect(run.summary.done).toEqual([]);
    expect(run.summary.skipped).toHaveLength(run.jobs);
  });
});

describe('errors before any training', () => {
  test('an unknown modality names the key and suggests the near miss', async () => {
    const out = join(root, 'bad-modality');
    await expect(setupExperiment({ data, out, config: { ...config, modalities: ['FLAIRR'] } as never, weights })).rejects.toThrow(/FLAIR/);
    expect(existsSync(join(out, 'runs'))).toBe(false);
  });

  test('a wrong type and an unknown key are errors with their key path', async () => {
    await expect(
      setupExperiment({ data, out: join(root, 'bad-type'), config: { ...config, train: { epochs: 'ten' } } as never, weights }),
    ).rejects.toThrow(/train\.epochs/);
    await expect(setupExperiment({ data, out: join(root, 'bad-key'), config: { ...config, bogus: 1 } as never, weights })).rejects.toThrow(
      /bogus/,
    );
  });

  test('too few patients of a class for the folds', async () => {
    await expect(
      setupExperiment({ data, out: join(root, 'folds'), config: { ...config, splits: { folds: 40 } }, weights }),
    ).rejects.toThrow(RangeError);
  });

  test('a common test set of one class', async () => {
    const tiny = join(root, 'tiny');
    await synthCohort({ out: tiny, patients: 12, size: 'small', seed: 11, signal: 4 });
    const err = await setupExperiment({
      data: tiny,
      out: join(root, 'one-class'),
      config: { ...config, splits: { folds: 2, seed: 3 } },
      weights,
    }).catch((e: unknown) => e);
    // either the folds or the common test set cannot be made from 12 patients: both are RangeErrors before training
    expect(err).toBeInstanceOf(RangeError);
    expect(existsSync(join(root, 'one-class', 'runs'))).toBe(false);
  });

  test('SpotTune and transfer without weights', async () => {
    await expect(setupExperiment({ data, out: join(root, 'no-weights'), config })).rejects.toThrow(/weights/);
  });
});

/** The ROC AUC as the fraction of (positive, negative) pairs ranked right, ties counting half. */
function pairAuc(labels: readonly number[], scores: readonly number[]): number {
  let right = 0;
  let pairs = 0;
  labels.forEach((yi, i) => {
    if (yi !== 1) return;
    labels.forEach((yj, j) => {
      if (yj !== 0) return;
      pairs++;
      right += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return right / pairs;
}
