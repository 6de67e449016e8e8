/**
 * Everything an experiment settles before its first training: the cohort, the prepared-volume
 * cache, the splits, and the experiment file (`<out>/experiment.json`) that every job reads.
 * Bad input — a config of the wrong type, an unknown modality, a class too small for the folds,
 * a modality without patients, a network that needs weights without them — is an error here,
 * before any training starts.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { modalityGroup, type Modality } from '../config/data.js';
import { expandEnsemble, resolveExperimentConfig, type ExperimentConfig, type ExperimentOptions } from '../config/experiment.js';
import { openCache, prepareCohort, type PrepareProgress, type PreparedCohort } from '../data/cache.js';
import type { Cohort } from '../data/cohort.js';
import { openDataset, type Layout } from '../data/cohort/layouts.js';
import { loadOrMakeStudySplits, readSplits, type Splits } from '../data/splits.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { planExperiment, type ExperimentPlan } from './plan.js';
import { describeValue } from '../util/validate.js';

/** The experiment file: what every job (in this process or on a queue worker) reads. */
export interface ExperimentFile {
  format: 'spottune3d-experiment';
  version: 1;
  /** The resolved configuration (config.resolved.json holds the same). */
  config: ExperimentConfig;
  /** The cohort folder or manifest file, absolute. */
  data: string;
  /** Its layout, as read at setup (absent in files written before layouts existed: UPENN-GBM). */
  layout?: Layout;
  /** The labels or clinical file read at setup, absolute; null when the labels came from a manifest. */
  labels?: string | null;
  /** The prepared-volume cache, absolute. */
  cache: string;
  /** The splits file, absolute. */
  splits: string;
  /** MedicalNet checkpoint the SpotTune and transfer networks start from; null when neither runs. */
  weights: string | null;
  /** The cohort is synthetic (the report says so). */
  synthetic: boolean;
  /** Free-text lines for the report (e.g. the demo's reduced settings). */
  notes: string[];
}

/** Options of {@link setupExperiment}. */
export interface SetupOptions {
  /** Cohort folder (any layout of lib/data/cohort/layouts.ts, detected unless config.cohort.layout) or manifest file. */
  data: string;
  /** Experiment output folder. */
  out: string;
  /** The configuration ({@link ExperimentSchema}); the paper's values where absent. */
  config?: ExperimentOptions | ExperimentConfig;
  /** MedicalNet checkpoint for SpotTune and transfer (resnet_50.pth for the paper). */
  weights?: string | null;
  /** Cache folder; default `<out>/cache`. */
  cache?: string;
  /** Marks the cohort as synthetic in the report. */
  synthetic?: boolean;
  /** Free-text lines the report prints (the experiment file's `notes`); none by default. */
  notes?: string[];
  /** Preprocessing worker threads (see prepareCohort). */
  workers?: number;
  /**
   * Aborts the preparation of the cache, after which the setup rejects with an AbortError (a
   * later run resumes it); {@link runExperiment} also hands it to the executor, to stop the jobs.
   */
  signal?: AbortSignal;
  /** Called with each preprocessing progress event of the cache's preparation (prepareCohort's `onProgress`). */
  onPrepareProgress?: (event: PrepareProgress) => void;
}

/** What {@link setupExperiment} settled. */
export interface ExperimentSetup {
  file: ExperimentFile;
  cohort: Cohort;
  cache: PreparedCohort;
  splits: Splits;
}

export const EXPERIMENT_FILE = 'experiment.json';

/**
 * Opens the cohort, prepares (or reuses) the cache, makes (or reuses) the splits, checks that the
 * grid can run, and writes `<out>/experiment.json` and `<out>/config.resolved.json`.
 * @throws ConfigError for a bad configuration; RangeError for a cohort that cannot be split as
 *   configured (too few patients of a class, a modality with no patients); TypeError for missing weights
 */
export async function setupExperiment(options: SetupOptions): Promise<ExperimentSetup> {
  if (!options || typeof options.data !== 'string' || typeof options.out !== 'string') {
    throw new TypeError(`Expected options.data and options.out to be folder paths but received ${describeValue(options)}`);
  }
  const config = resolveExperimentConfig(options.config ?? {}, 'the experiment configuration');
  const out = resolve(options.out);
  const needsWeights = config.networks.filter((n) => n !== 'random');
  const weights = options.weights ? resolve(options.weights) : null;
  if (needsWeights.length > 0 && !weights) {
    throw new TypeError(
      `The networks ${needsWeights.join(', ')} start from MedicalNet weights: pass weights (resnet_${config.network.depth}.pth), or run only 'random'`,
    );
  }
  if (weights && !existsSync(weights)) throw new RangeError(`The weights file ${weights} does not exist`);

  const cohort = await openDataset(options.data, {
    mask: config.preprocess.mask,
    skipUnusable: config.cohort.skipUnusable,
    ...(config.cohort.layout ? { layout: config.cohort.layout } : {}),
    ...(config.cohort.labels ? { labels: config.cohort.labels } : {}),
  });
  const modalities = config.modalities as Modality[];
  for (const m of modalities) {
    const with_ = cohort.patients.filter((p) => p.images[m]).length;
    if (with_ === 0) throw new RangeError(`No patient of the cohort in ${cohort.root} has modality ${m}; remove it from modalities`);
  }
  const cacheDir = resolve(options.cache ?? join(out, 'cache'));
  const prepared = await prepareCohort(cohort, {
    out: cacheDir,
    preprocess: config.preprocess,
    modalities,
    workers: options.workers,
    signal: options.signal,
    onProgress: options.onPrepareProgress,
  });
  if (prepared.interrupted) throw Object.assign(new Error('Preparation was interrupted; run again to resume'), { name: 'AbortError' });
  const cache = await openCache(cacheDir);
  for (const m of modalities) {
    if (!cache.patients.some((p) => p.modalities.includes(m))) {
      throw new RangeError(
        `Every ${m} volume was skipped in preprocessing (${cache.skipped.filter((s) => s.modality === m)[0]?.reason ?? 'no file'}); remove it from modalities`,
      );
    }
  }
  const groupOf = (m: string) => modalityGroup(m, config.modalityGroups);
  const groups = [...new Set(modalities.map(groupOf))];
  const patients = cache.patients.map((p) => ({
    id: p.id,
    label: p.label,
    groups: groups.filter((g) => modalities.filter((m) => groupOf(m) === g).every((m) => p.modalities.includes(m))),
  }));
  const splitsPath = join(out, 'splits.json');
  const { splits } = await loadOrMakeStudySplits(splitsPath, patients, config.splits, { groups });
  if (splits.commonTest.length === 0)
    throw new RangeError('The splits have no common test patient: no patient has every modality group of the grid');
  const positives = splits.commonTest.filter((id) => splits.labels[id] === 1).length;
  if (positives === 0 || positives === splits.commonTest.length) {
    throw new RangeError(
      `The common test set (${splits.commonTest.length} patients, ${positives} methylated) has one class only, so AUC and AP are undefined; use a larger cohort or another splits.seed`,
    );
  }
  for (const [name, members] of Object.entries(config.ensembles)) {
    if (expandEnsemble(members, config.modalityGroups).length === 0) throw new RangeError(`Ensemble ${name} has no modality`);
  }

  const file: ExperimentFile = {
    format: 'spottune3d-experiment',
    version: 1,
    config,
    data: resolve(options.data),
    layout: cohort.layout as Layout,
    labels: cohort.clinicalCsv,
    cache: cacheDir,
    splits: splitsPath,
    weights: needsWeights.length > 0 ? weights : null,
    synthetic: Boolean(options.synthetic),
    notes: options.notes ?? [],
  };
  await writeJsonAtomic(join(out, EXPERIMENT_FILE), file);
  await writeJsonAtomic(join(out, 'config.resolved.json'), config);
  return { file, cohort, cache, splits };
}

/** Reads `<out>/experiment.json`, the cache and the splits it names. */
export async function openExperiment(out: string): Promise<{ file: ExperimentFile; cache: PreparedCohort; splits: Splits }> {
  const path = join(resolve(out), EXPERIMENT_FILE);
  if (!existsSync(path))
    throw new Error(`${path} does not exist: set the experiment up first (spottune experiment --data DIR --out ${out})`);
  const file = JSON.parse(await readFile(path, 'utf8')) as ExperimentFile;
  if (file.format !== 'spottune3d-experiment') throw new Error(`${path} is not a spottune3d experiment file`);
  const config = resolveExperimentConfig(file.config, path);
  const [cache, splits] = await Promise.all([openCache(file.cache), readSplits(file.splits)]);
  return { file: { ...file, config }, cache, splits };
}

/** The plan of a configured experiment: its grid, and the radiomics baseline when enabled. */
export function planOf(config: ExperimentConfig): ExperimentPlan {
  return planExperiment({
    networks: config.networks,
    modalities: config.modalities,
    folds: config.splits.folds,
    radiomics: config.radiomics,
  });
}
