/**
 * The study's protocol as a plan: a list of jobs with their dependencies. One code path decides
 * what runs (this module); executors only decide where (in this process, or on a job queue).
 * Every job writes its result to `<out>/jobs/<id>.json` atomically; a job whose result exists is
 * done, so a resumed or repeated run skips it and a job that runs twice writes the same file.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainNetwork } from '../config/train.js';
import { writeJsonAtomic } from '../util/atomic.js';

/** One training run: a network on one modality's training pool, one cross-validation fold. */
export interface TrainJob {
  kind: 'train';
  id: string;
  network: TrainNetwork;
  modality: string;
  fold: number;
  needs: string[];
}

/** Test-set predictions of every fold model of one (network, modality), averaged: the derivative model. */
export interface EvaluateJob {
  kind: 'evaluate';
  id: string;
  network: TrainNetwork;
  modality: string;
  needs: string[];
}

/** The radiomics random-forest baseline on the same splits. */
export interface RadiomicsJob {
  kind: 'radiomics';
  id: string;
  needs: string[];
}

/** Ensembles over modality groups, metrics, confidence intervals and the Friedman/Nemenyi tests. */
export interface AnalysisJob {
  kind: 'analysis';
  id: string;
  needs: string[];
}

/** The Markdown/HTML report and per-patient CSVs. */
export interface ReportJob {
  kind: 'report';
  id: string;
  needs: string[];
}

/** One job of an {@link ExperimentPlan}, told apart by its `kind`; `needs` lists the ids of the jobs it waits for. */
export type Job = TrainJob | EvaluateJob | RadiomicsJob | AnalysisJob | ReportJob;

/** What {@link planExperiment} needs to know: the grid, and whether the radiomics baseline runs. */
export interface PlanOptions {
  /** Networks of the grid, in plan order (ExperimentSchema's `networks`). */
  networks: readonly TrainNetwork[];
  /** Modalities each network trains on, one derivative model each (ExperimentSchema's `modalities`). */
  modalities: readonly string[];
  /** Cross-validation folds: trainings per (network, modality), numbered 0 to folds - 1 (SplitSchema's `folds`). */
  folds: number;
  /** Adds the radiomics random-forest baseline job, which the analysis then waits for. */
  radiomics: boolean;
}

/** The plan: every job of the experiment in a valid execution order. */
export interface ExperimentPlan {
  jobs: Job[];
}

export const trainJobId = (network: string, modality: string, fold: number) => `train.${network}.${modality}.fold${fold}`;
export const evaluateJobId = (network: string, modality: string) => `evaluate.${network}.${modality}`;

/**
 * The jobs of one experiment: networks x modalities x folds trainings, one evaluation per
 * (network, modality), the radiomics baseline when asked, the analysis and the report.
 */
export function planExperiment(options: PlanOptions): ExperimentPlan {
  const jobs: Job[] = [];
  const evaluations: string[] = [];
  for (const network of options.networks) {
    for (const modality of options.modalities) {
      const trains: string[] = [];
      for (let fold = 0; fold < options.folds; fold++) {
        const id = trainJobId(network, modality, fold);
        jobs.push({ kind: 'train', id, network, modality, fold, needs: [] });
        trains.push(id);
      }
      const id = evaluateJobId(network, modality);
      jobs.push({ kind: 'evaluate', id, network, modality, needs: trains });
      evaluations.push(id);
    }
  }
  const analysisNeeds = [...evaluations];
  if (options.radiomics) {
    jobs.push({ kind: 'radiomics', id: 'radiomics', needs: [] });
    analysisNeeds.push('radiomics');
  }
  jobs.push({ kind: 'analysis', id: 'analysis', needs: analysisNeeds });
  jobs.push({ kind: 'report', id: 'report', needs: ['analysis'] });
  return { jobs };
}

/** Where a job's result lives. */
export function jobResultPath(out: string, jobId: string): string {
  return join(out, 'jobs', `${jobId}.json`);
}

/** A finished job's record: its result, or the error that ended it. */
export type JobRecord<R = unknown> =
  | { id: string; status: 'done'; result: R; finishedAt: string; durationMs: number }
  | { id: string; status: 'failed'; error: { message: string; code?: string; stack?: string }; finishedAt: string; durationMs: number };

/** True when the job finished successfully in an earlier run. */
export function jobDone(out: string, jobId: string): boolean {
  return existsSync(jobResultPath(out, jobId));
}

/** Reads a finished job's result. */
export async function readJobResult<R>(out: string, jobId: string): Promise<R> {
  const record = JSON.parse(await readFile(jobResultPath(out, jobId), 'utf8')) as JobRecord<R>;
  if (record.status !== 'done') throw new Error(`job ${jobId} did not finish: ${record.error.message}`);
  return record.result;
}

/** Records a job's success atomically (the file's existence marks the job done). */
export async function recordJobResult<R>(out: string, jobId: string, result: R, durationMs: number): Promise<void> {
  const record: JobRecord<R> = { id: jobId, status: 'done', result, finishedAt: new Date().toISOString(), durationMs };
  await writeJsonAtomic(jobResultPath(out, jobId), record);
}

/** Records a job's failure beside the results, without marking it done (a later run retries it). */
export async function recordJobFailure(out: string, jobId: string, err: unknown, durationMs: number): Promise<void> {
  const e = err as Error & { code?: string };
  const record: JobRecord = {
    id: jobId,
    status: 'failed',
    error: { message: e?.message ?? String(err), code: e?.code, stack: e?.stack },
    finishedAt: new Date().toISOString(),
    durationMs,
  };
  await writeJsonAtomic(join(out, 'jobs', 'failed', `${jobId}.json`), record);
}
