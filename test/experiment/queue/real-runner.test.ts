// A real (tiny) experiment through Redis and two `spottune worker` processes with the default job
// runner: every job finishes once, and the analysis equals the in-process run's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createNetwork, runExperiment, savePth, synthCohort, type ExperimentOptions, type StateDict } from '../../../lib/index.js';
import { readJobResult } from '../../../lib/experiment/plan.js';
import type { ExperimentResults } from '../../../lib/report/types.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { requireDist } from './helpers.js';

const CLI = fileURLToPath(new URL('../../../bin/spottune.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'spottune-queue-real-'));
let redis: TestRedis;
const workers: ChildProcess[] = [];

const modalities = ['FLAIR', 'DTI_FA', 'DSC_ap-rCBV'];
const config: ExperimentOptions = {
  networks: ['random', 'transfer'],
  modalities,
  ensembles: { Struct: ['FLAIR'], 'DSC+DTI+Struct': modalities },
  splits: { folds: 2 },
  network: { depth: 10, learningRate: 3e-3 },
  train: { epochs: 1, batchSize: 8 },
  augment: { kinds: [] },
  preprocess: { crop: 'tumour', scale: 0.25, padTo: null },
  stats: { bootstrapResamples: 20 },
  radiomics: false,
};

beforeAll(async () => {
  requireDist();
  redis = await startRedis();
  await synthCohort({ out: join(root, 'data'), patients: 36, size: 'small', seed: 11, signal: 4 });
  const net = await createNetwork({ kind: 'resnet', depth: 10, seed: 5 });
  const state: StateDict = new Map();
  for (const [k, v] of await net.stateDict()) if (!k.startsWith('fc.')) state.set(`module.${k}`, v);
  net.dispose();
  await savePth(join(root, 'w.pth'), new Map([['state_dict', state]]));
}, 300_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await redis?.dispose();
  rmSync(root, { recursive: true, force: true });
});

test('two workers run the grid with the experiment runner; the analysis equals the in-process run', { timeout: 600_000 }, async () => {
  const common = { data: join(root, 'data'), config, weights: join(root, 'w.pth'), cache: join(root, 'cache') };
  const local = await runExperiment({ ...common, out: join(root, 'local') });
  expect(local.summary.failed).toEqual([]);

  for (let i = 0; i < 2; i++) {
    workers.push(spawn(process.execPath, [CLI, 'worker', '--queue', redis.url, '--concurrency', '1'], { stdio: 'ignore' }));
  }
  const queued = await runExperiment({ ...common, out: join(root, 'queued'), queueUrl: redis.url });
  expect(queued.summary.failed).toEqual([]);
  expect(queued.summary.done.toSorted()).toEqual(local.summary.done.toSorted());
  expect(
    readdirSync(join(root, 'queued', 'jobs'))
      .filter((f) => f.endsWith('.json'))
      .toSorted(),
  ).toEqual(
    readdirSync(join(root, 'local', 'jobs'))
      .filter((f) => f.endsWith('.json'))
      .toSorted(),
  );
  const [a, b] = await Promise.all([
    readJobResult<ExperimentResults>(join(root, 'local'), 'analysis'),
    readJobResult<ExperimentResults>(join(root, 'queued'), 'analysis'),
  ]);
  expect(b.testPatients).toEqual(a.testPatients);
  for (const network of a.networks) {
    for (const group of Object.keys(a.ensembles[network])) {
      const [pa, pb] = [a.ensembles[network][group].probabilities!, b.ensembles[network][group].probabilities!];
      pb.forEach((p, i) => expect(p).toBeCloseTo(pa[i], 6));
    }
  }
});
