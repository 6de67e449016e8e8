/**
 * The experiment's job runner: what each job of the plan does. The in-process executor and the
 * queue workers both load this module (`createJobRunner`), so the two modes run the same code on
 * the same files. Every job reads `<out>/experiment.json` (see setup.ts) and writes only inside
 * `<out>`; a training resumes from its last checkpoint, so a retried job picks up where it died.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modalityGroup, type Modality } from '../config/data.js';
import { expandEnsemble } from '../config/experiment.js';
import { PAPER_MODEL, residualBlockCount } from '../config/model.js';
import { openDataset } from '../data/cohort/layouts.js';
import { ensemble, type PatientProbabilities } from '../eval/ensemble.js';
import { averageFoldPredictions, predictGumbelAveraged, type PatientFoldPrediction } from '../eval/gumbel.js';
import { readNifti } from '../io/nifti.js';
import { loadPth, stateDictOf } from '../io/pth/index.js';
import { createNetwork, type Network } from '../models/network.js';
import { summarizeEnsemble, summarizeGroupStatistics } from '../report/summarize.js';
import type { ExperimentResults, ReportPolicy } from '../report/types.js';
import { writeReport } from '../report/render.js';
import { radiomicsBaseline, studyFeatureRow, studyFeatures, type PatientVolumes } from '../radiomics/study.js';
import { prepareFoldTraining } from '../train/fold.js';
import type { JobRunner } from './executor.js';
import { evaluateJobId, jobDone, readJobResult, trainJobId, type EvaluateJob, type Job, type TrainJob } from './plan.js';
import type { RunnerContext } from './queue/runner.js';
import { openExperiment, planOf, type ExperimentFile } from './setup.js';
import type { PreparedCohort } from '../data/cache.js';
import type { Splits } from '../data/splits.js';

type Experiment = { out: string; device: string; file: ExperimentFile; cache: PreparedCohort; splits: Splits };

/** What a training job records. */
export interface TrainJobResult {
  selectedEpoch: number;
  selection: 'best' | 'last';
  epochs: number;
  validation: { m: number; sen: number; spe: number; acc: number; auc: number };
  modelPath: string;
}

/** What an evaluation job records: the derivative model on its group's test patients. */
export interface EvaluateJobResult extends PatientProbabilities {
  network: string;
  modality: string;
  /** Folds whose model was averaged (a failed training leaves its fold out). */
  folds: number[];
  /** Gumbel samples averaged per SpotTune fold model (1 for the ResNets). */
  samples: number;
  /** SpotTune: [patient][block] fraction of samples and folds routed through the fine-tuned block. */
  policyFractions?: number[][];
}

/** What the radiomics job records. */
export interface RadiomicsJobResult extends PatientProbabilities {
  trainPatients: number;
  excluded: { id: string; set: 'train' | 'test'; features: string[] }[];
}

/** The folder of one training run. */
export function trainRunDir(out: string, job: Pick<TrainJob, 'network' | 'modality' | 'fold'>): string {
  return join(out, 'runs', job.network, job.modality, `fold${job.fold}`);
}

function patientsWith(cache: PreparedCohort, modality: Modality): Set<string> {
  return new Set(cache.patients.filter((p) => p.modalities.includes(modality)).map((p) => p.id));
}

async function createFor(exp: Experiment, kind: TrainJob['network']): Promise<Network> {
  return createNetwork({ ...exp.file.config.network, kind, device: exp.device });
}

async function runTraining(exp: Experiment, job: TrainJob, signal: AbortSignal): Promise<TrainJobResult> {
  const { cache, splits, file } = exp;
  const modality = job.modality as Modality;
  const outDir = trainRunDir(exp.out, job);
  if (job.network !== 'random' && !file.weights)
    throw new TypeError(`The ${job.network} network needs MedicalNet weights; the experiment has none`);
  await using run = await prepareFoldTraining({
    cache,
    splits,
    modality,
    group: modalityGroup(modality, file.config.modalityGroups),
    fold: job.fold,
    network: { ...file.config.network, kind: job.network, device: exp.device },
    // the ResNet trained from scratch never loads the checkpoint the others start from
    weights: job.network === 'random' ? null : file.weights,
    augment: { ...file.config.augment, device: exp.device },
    train: file.config.train,
    outDir,
    signal,
    meta: { network: job.network, modality, fold: job.fold, weights: file.weights },
  });
  const result = await run.trainer.run({ resume: true });
  const v = result.selected.validation;
  return {
    selectedEpoch: result.selectedEpoch,
    selection: result.selection,
    epochs: result.history.length,
    validation: { m: v.m, sen: v.sen, spe: v.spe, acc: v.acc, auc: v.auc },
    modelPath: result.modelPath ?? join(outDir, 'model.pth'),
  };
}

async function runEvaluation(exp: Experiment, job: EvaluateJob): Promise<EvaluateJobResult> {
  const { cache, splits, file } = exp;
  const modality = job.modality as Modality;
  const group = splits.groups[modalityGroup(modality, file.config.modalityGroups)];
  const has = patientsWith(cache, modality);
  const patients = group.test.filter((id) => has.has(id));
  const volumes = await Promise.all(patients.map((id) => cache.load(id, modality)));
  const trained = group.folds.map((_, fold) => fold).filter((fold) => jobDone(exp.out, trainJobId(job.network, modality, fold)));
  if (trained.length === 0) throw new Error(`No fold of ${job.network} on ${modality} finished training`);
  const evaluation = file.config.evaluation;
  const perFold: PatientFoldPrediction[] = [];
  for (const fold of trained) {
    const { modelPath } = await readJobResult<TrainJobResult>(exp.out, trainJobId(job.network, modality, fold));
    const network = await createFor(exp, job.network);
    try {
      await network.loadStateDict(stateDictOf(await loadPth(modelPath)), { strict: true });
      const prediction = await predictGumbelAveraged(network, volumes, cache.shape, {
        samples: evaluation.gumbelSamples,
        seed: evaluation.gumbelSeed,
        batchSize: file.config.train.batchSize,
      });
      perFold.push({ patients, ...prediction });
    } finally {
      network.dispose();
    }
  }
  const { policyFractions, ...derivative } = averageFoldPredictions(perFold);
  return {
    network: job.network,
    modality,
    ...derivative,
    folds: trained,
    samples: job.network === 'spottune' ? evaluation.gumbelSamples : 1,
    ...(policyFractions ? { policyFractions } : {}),
  };
}

async function runRadiomics(exp: Experiment): Promise<RadiomicsJobResult> {
  const { file, splits } = exp;
  const config = file.config;
  // the study's four structural roles, under the cohort's own names (BraTS 2021: t1, t1ce, t2, flair)
  const r = config.radiomicsModalities;
  const roles = [
    ['T1', r.T1],
    ['T1GD', r.T1GD],
    ['T2', r.T2],
    ['FLAIR', r.FLAIR],
  ] as const;
  const structName = modalityGroup(config.radiomicsModalities.T1, config.modalityGroups);
  const struct = splits.groups[structName];
  if (!struct)
    throw new RangeError(
      `The radiomics baseline needs the structural group ${structName} (${roles.map(([, m]) => m).join(', ')}) in the grid`,
    );
  const cohort = await openDataset(file.data, {
    mask: config.preprocess.mask,
    skipUnusable: config.cohort.skipUnusable,
    ...(file.layout ? { layout: file.layout } : {}),
    ...(file.labels ? { labels: file.labels } : {}),
  });
  const byId = new Map(cohort.patients.map((p) => [p.id, p]));
  const excluded: RadiomicsJobResult['excluded'] = [];
  const rows = async (ids: readonly string[], set: 'train' | 'test') => {
    const kept: { id: string; row: number[] }[] = [];
    for (const id of ids) {
      const patient = byId.get(id);
      if (!patient) throw new RangeError(`Patient ${id} of the splits is not in the cohort ${cohort.root}`);
      const volumes: PatientVolumes = { segmentation: await readNifti(patient.mask) };
      for (const [role, m] of roles) if (patient.images[m]) volumes[role] = await readNifti(patient.images[m]!);
      const features = studyFeatures(volumes, {}, cohort.regions);
      const row = studyFeatureRow(features);
      if (row) kept.push({ id, row });
      else excluded.push({ id, set, features: features.excluded.map((e) => `${e.feature}: ${e.reason}`) });
    }
    return kept;
  };
  // The forest trains on the structural training pool and is scored on the common test set.
  const train = await rows(struct.train, 'train');
  const test = await rows(splits.commonTest, 'test');
  if (train.length === 0 || test.length === 0)
    throw new RangeError('Every patient was excluded from the radiomics baseline (see its excluded list)');
  const probabilities = radiomicsBaseline({
    trainFeatures: train.map((r) => r.row),
    trainLabels: train.map((r) => splits.labels[r.id]),
    testFeatures: test.map((r) => r.row),
    seed: file.config.train.seed,
  });
  return { patients: test.map((r) => r.id), probabilities: Array.from(probabilities), trainPatients: train.length, excluded };
}

async function runAnalysis(exp: Experiment, jobs: readonly Job[]): Promise<ExperimentResults> {
  const { file, splits } = exp;
  const config = file.config;
  const test = splits.commonTest;
  const labels = test.map((id) => splits.labels[id]);
  const score = (y: readonly number[], p: readonly number[]) =>
    summarizeEnsemble(y, p, {
      threshold: config.evaluation.threshold,
      bootstrapResamples: config.stats.bootstrapResamples,
      bootstrapSeed: config.stats.bootstrapSeed,
      ciLevel: config.stats.ciLevel,
    });
  const groups = Object.keys(config.ensembles);
  const results: ExperimentResults = {
    title: config.report.title,
    synthetic: file.synthetic,
    createdAt: new Date().toISOString(),
    threshold: config.evaluation.threshold,
    networks: [...config.networks],
    groups,
    testPatients: test.map((id) => ({ id, label: splits.labels[id] })),
    ensembles: {},
    notes: [...file.notes],
    ...(groups.includes('DSC+DTI') ? { highlightGroup: 'DSC+DTI' } : {}),
  };
  const probabilitiesOf: Record<string, Record<string, number[]>> = {};
  const policies: ReportPolicy[] = [];
  for (const network of config.networks) {
    const derivatives = new Map<string, EvaluateJobResult>();
    for (const modality of config.modalities) {
      const id = evaluateJobId(network, modality);
      if (jobs.some((j) => j.id === id) && jobDone(exp.out, id))
        derivatives.set(modality, await readJobResult<EvaluateJobResult>(exp.out, id));
    }
    results.ensembles[network] = {};
    probabilitiesOf[network] = {};
    for (const [name, members] of Object.entries(config.ensembles)) {
      const modalities = expandEnsemble(members, config.modalityGroups);
      if (!modalities.every((m) => derivatives.has(m))) {
        results.notes!.push(
          `${network} ${name}: not scored, a derivative model is missing (${modalities.filter((m) => !derivatives.has(m)).join(', ')})`,
        );
        continue;
      }
      const p = ensemble(derivatives, modalities, test);
      probabilitiesOf[network][name] = p;
      results.ensembles[network][name] = score(labels, p);
    }
    for (const d of derivatives.values()) {
      if (!d.policyFractions) continue;
      const index = new Map(d.patients.map((p, i) => [p, i]));
      policies.push({
        title: `${d.modality} (mean of ${d.folds.length} fold model${d.folds.length === 1 ? '' : 's'} x ${d.samples} Gumbel samples)`,
        patients: test,
        fractions: test.map((id) => d.policyFractions![index.get(id)!]),
        // the report names the blocks of the study's ResNet50 itself; other depths get plain indices
        ...(d.policyFractions[0].length !== residualBlockCount(PAPER_MODEL.depth)
          ? { blocks: d.policyFractions[0].map((_, b) => `block ${b}`) }
          : {}),
      });
    }
  }
  if (policies.length > 0) results.policies = policies;
  if (config.networks.length >= 3) {
    results.statistics = {};
    for (const name of groups) {
      const byNetwork: Record<string, number[]> = {};
      for (const network of config.networks) if (probabilitiesOf[network][name]) byNetwork[network] = probabilitiesOf[network][name];
      if (Object.keys(byNetwork).length >= 3)
        results.statistics[name] = summarizeGroupStatistics(byNetwork, { clamp: config.stats.nemenyiClamp });
    }
  }
  if (jobs.some((j) => j.kind === 'radiomics') && jobDone(exp.out, 'radiomics')) {
    const rf = await readJobResult<RadiomicsJobResult>(exp.out, 'radiomics');
    const scored = score(
      rf.patients.map((id) => splits.labels[id]),
      rf.probabilities,
    );
    results.baseline = { name: 'Radiomics RF', metrics: scored.metrics, curves: scored.curves, patients: rf.patients.length };
  }
  return results;
}

/**
 * Builds the runner of the experiment in `context.out` (its experiment.json must exist): the
 * {@link JobRunner} both executors call.
 */
export async function createJobRunner(context: RunnerContext): Promise<JobRunner> {
  const opened = await openExperiment(context.out);
  const exp: Experiment = { out: context.out, device: context.device ?? opened.file.config.network.device, ...opened };
  return async (job, signal) => {
    switch (job.kind) {
      case 'train':
        return runTraining(exp, job, signal);
      case 'evaluate':
        return runEvaluation(exp, job);
      case 'radiomics':
        return runRadiomics(exp);
      case 'analysis':
        return runAnalysis(exp, planOf(exp.file.config).jobs);
      case 'report': {
        const results = await readJobResult<ExperimentResults>(exp.out, 'analysis');
        const files = await writeReport(results, join(exp.out, 'report'), { formats: exp.file.config.report.formats });
        return { files: files.filter((f) => existsSync(f)) };
      }
    }
  };
}
