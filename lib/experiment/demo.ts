/**
 * The demo: the study's whole protocol on a synthetic cohort, reduced to run on the CPU of a
 * 2-core machine within minutes (`npm run demo`, `spottune demo`).
 *
 * 1. A synthetic UPENN-GBM-like cohort with an MGMT-linked tumour signal (lib/data/synth.ts).
 * 2. "MedicalNet" weights made the way MedicalNet made its own, by pretraining on other data: a
 *    ResNet3D-10 trained on a second synthetic cohort for a source task unrelated to MGMT (is the
 *    necrotic core larger than the median?), saved as a MedicalNet checkpoint ({'state_dict': ...},
 *    'module.' keys, no classifier) so the experiment loads it through the MedicalNet path.
 * 3. The experiment: splits, the grid (3 networks x 3 derivatives x 2 folds), Gumbel-averaged
 *    evaluation, ensembles, metrics, statistics, the radiomics baseline and the report.
 * @module
 */
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { DEMO_DEFAULTS } from '../config/demo.js';
import type { ExperimentOptions } from '../config/experiment.js';
import { PAPER_TRAIN } from '../config/train.js';
import { openCache, prepareCohort } from '../data/cache.js';
import { openCohort } from '../data/cohort.js';
import { readNifti } from '../io/nifti.js';
import { synthCohort } from '../data/synth.js';
import { savePth } from '../io/pth/index.js';
import { createNetwork } from '../models/network.js';
import type { StateDict } from '../types.js';
import type { ExecutorEvents } from './executor.js';
import { runExperiment, type ExperimentRun } from './run.js';
import { existsSync } from 'node:fs';

/** The three derivatives of the demo grid: one per modality group. */
const DSC = ['DSC_ap-rCBV'];
const DTI = ['DTI_FA'];
const STRUCT = ['FLAIR'];

/**
 * Preprocessing of the demo: the box around every tumour of the cohort (REF's box "following the
 * largest tumour", computed), downscaled by 2 without padding: about 25 x 29 x 30 inputs at 4 mm.
 */
const DEMO_PREPROCESS = { crop: 'tumour', scale: 0.5, padTo: null } as const;

/**
 * The demo's reduced protocol, sized for a 2-core CPU: on such small inputs a 3D ResNet's cost is
 * its deep 256- and 512-channel layers, so the demo trims the number of trainings and steps, not
 * only the volumes. Everything not listed is the paper's value (configs/paper.json); the learning
 * rates are far above the paper's so that a few epochs learn.
 */
export const DEMO_CONFIG: ExperimentOptions = {
  networks: ['spottune', 'random', 'transfer'],
  modalities: [...STRUCT, ...DTI, ...DSC],
  ensembles: {
    DSC,
    DTI,
    Struct: STRUCT,
    'DSC+DTI': [...DSC, ...DTI],
    'DSC+Struct': [...DSC, ...STRUCT],
    'DTI+Struct': [...DTI, ...STRUCT],
    'DSC+DTI+Struct': [...DSC, ...DTI, ...STRUCT],
  },
  splits: { folds: 2 },
  network: { depth: 10, learningRate: 3e-3, agentLearningRate: 1e-2 },
  train: { epochs: 3, batchSize: 8 },
  augment: { kinds: ['flip'] },
  preprocess: { ...DEMO_PREPROCESS },
  evaluation: { gumbelSamples: 5 },
  stats: { bootstrapResamples: 300 },
  radiomics: true,
  report: { title: 'spottune3d demo: MGMT from synthetic MRI, SpotTune vs random init vs transfer' },
};

/** The BraTS 2021 sequence names of the demo's derivatives (lib/data/synth.ts writes T1GD as t1ce). */
const BRATS_STRUCT = ['t1', 't1ce', 't2', 'flair'];

/**
 * The demo on the BraTS 2021 twin of its cohort (`spottune demo --layout brats2021`): BraTS has
 * structural MRI only, so the grid is FLAIR and T1-contrast under BraTS's names, one group
 * `struct` anchoring the splits, and the radiomics roles mapped to BraTS's sequence names.
 */
export const DEMO_CONFIG_BRATS: ExperimentOptions = {
  ...DEMO_CONFIG,
  cohort: { layout: 'brats2021' },
  modalityGroups: { struct: BRATS_STRUCT },
  modalities: ['flair', 't1ce'],
  ensembles: { flair: ['flair'], t1ce: ['t1ce'], 'flair+t1ce': ['flair', 't1ce'] },
  splits: { folds: 2, anchor: 'struct' },
  radiomicsModalities: { T1: 't1', T1GD: 't1ce', T2: 't2', FLAIR: 'flair' },
};

/** Lines the report shows under its title. */
export const DEMO_NOTES = [
  "Demo run at a reduced size: 3 derivatives (FLAIR, DTI_FA, DSC_ap-rCBV), 2 folds, ResNet3D-10 backbones on tumour-box inputs at 4 mm, 3 epochs, flip augmentation, 5 Gumbel samples per fold model, learning rates 3e-3 (network) and 1e-2 (agent) instead of the paper's 1e-5 and 1e-4; the planted signal is strong (signal 4).",
  'The "MedicalNet" weights were pretrained by the demo on a separate synthetic cohort (necrotic-core size task), not downloaded.',
];

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Output folder: data/, source/, weights/, and the experiment (report/, jobs/, runs/...). */
  out: string;
  /** Baseline patients of the synthetic cohort. Default {@link DEMO_DEFAULTS}.patients. */
  patients?: number;
  /** Seed of the cohort, the splits and the trainings. Default {@link DEMO_DEFAULTS}.seed. */
  seed?: number;
  /** Strength of the planted MGMT signal. Default {@link DEMO_DEFAULTS}.signal. */
  signal?: number;
  /** Trainings at once. Default {@link DEMO_DEFAULTS}.concurrency (one per core here). */
  concurrency?: number;
  /** Layout of the synthetic cohort: `upenn` (the default) or its `brats2021` twin ({@link DEMO_CONFIG_BRATS}). */
  layout?: 'upenn' | 'brats2021';
  events?: EventEmitter<ExecutorEvents>;
  signalAbort?: AbortSignal;
  /** Progress lines (stage names and counts). */
  log?: (line: string) => void;
}

/**
 * Trains a ResNet3D-10 on a separate synthetic cohort (no MGMT signal) for the source task "is the
 * necrotic core larger than the cohort's median?" and writes it as a MedicalNet checkpoint.
 */
export async function pretrainSourceWeights(options: {
  out: string;
  seed: number;
  log: (line: string) => void;
  steps?: number;
}): Promise<string> {
  const path = join(options.out, 'weights', 'resnet_10_source.pth');
  if (existsSync(path)) return path;
  const source = join(options.out, 'source');
  await synthCohort({ out: join(source, 'data'), patients: 16, size: 'small', seed: options.seed + 1000, signal: 0 });
  await prepareCohort(join(source, 'data'), {
    out: join(source, 'cache'),
    preprocess: { ...DEMO_PREPROCESS },
    modalities: ['FLAIR', 'T2', 'T1GD'],
  });
  const cache = await openCache(join(source, 'cache'));
  const cohort = await openCohort(join(source, 'data'));
  const [D, H, W] = cache.shape;
  const voxels = D * H * W;
  const volumes: Float32Array[] = [];
  const necrosis: number[] = [];
  for (const p of cache.patients) {
    // The source label: how much necrotic core (label 1) the tumour has, from its segmentation.
    const mask = (await readNifti(cohort.patients.find((c) => c.id === p.id)!.mask)).data;
    let core = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] === 1) core++;
    for (const m of p.modalities) {
      volumes.push(await cache.load(p.id, m));
      necrosis.push(core);
    }
  }
  const median = [...necrosis].sort((a, b) => a - b)[Math.floor(necrosis.length / 2)];
  const labels = necrosis.map((n) => (n > median ? 1 : 0));
  const network = await createNetwork({ kind: 'resnet', depth: 10, learningRate: 1e-3, seed: options.seed });
  try {
    const batch = 8;
    const steps = options.steps ?? 24;
    let loss = 0;
    for (let step = 0; step < steps; step++) {
      const input = new Float32Array(batch * voxels);
      const y = new Float32Array(batch);
      for (let i = 0; i < batch; i++) {
        const k = (step * batch + i * 7) % volumes.length;
        input.set(volumes[k], i * voxels);
        y[i] = labels[k];
      }
      ({ loss } = await network.trainStep(input, [batch, 1, D, H, W], y, { seed: options.seed + step, tau: PAPER_TRAIN.gumbelTau }));
    }
    options.log(`pretrained the source ResNet3D-10 on ${volumes.length} volumes (${steps} steps, last loss ${loss.toFixed(3)})`);
    const state = await network.stateDict();
    const medicalnet: StateDict = new Map();
    for (const [name, tensor] of state) if (!name.startsWith('fc.')) medicalnet.set(`module.${name}`, tensor);
    await savePth(path, new Map([['state_dict', medicalnet]]));
    return path;
  } finally {
    network.dispose();
  }
}

/**
 * Runs the demo end to end and returns the experiment run (with the report's path).
 * Re-running with the same `out` resumes: finished stages and jobs are reused.
 */
export async function runDemo(options: DemoOptions): Promise<ExperimentRun> {
  const out = resolve(options.out);
  const seed = options.seed ?? DEMO_DEFAULTS.seed;
  const log = options.log ?? (() => {});
  const layout = options.layout ?? 'upenn';
  if (layout !== 'upenn' && layout !== 'brats2021')
    throw new RangeError(`Expected options.layout to be 'upenn' or 'brats2021' but received ${JSON.stringify(layout)}`);
  const data = join(out, layout === 'upenn' ? 'data' : 'data-brats2021');
  if (!existsSync(join(data, layout === 'upenn' ? 'automated_segm' : 'train_labels.csv'))) {
    const started = performance.now();
    const cohort = await synthCohort({
      out: data,
      layout,
      patients: options.patients ?? DEMO_DEFAULTS.patients,
      size: 'small',
      seed,
      signal: options.signal ?? DEMO_DEFAULTS.signal,
    });
    log(`synthesised ${cohort.scans.length} scans (${cohort.files} files) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const weights = await pretrainSourceWeights({ out, seed, log });
  return runExperiment({
    data,
    out: join(out, layout === 'upenn' ? 'experiment' : 'experiment-brats2021'),
    config: layout === 'upenn' ? DEMO_CONFIG : DEMO_CONFIG_BRATS,
    weights,
    synthetic: true,
    notes: DEMO_NOTES,
    concurrency: options.concurrency ?? DEMO_DEFAULTS.concurrency,
    events: options.events,
    signal: options.signalAbort,
  });
}
