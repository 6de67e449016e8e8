// The `spottune3d/experiment` door (package.json "exports"): planning and the in-process executor;
// lib/index.ts re-exports everything here. The queue executor has its own door, `spottune3d/queue`
// (lib/experiment/queue/index.ts), so that this one stays free of bullmq and ioredis.
export {
  planExperiment,
  jobDone,
  readJobResult,
  jobResultPath,
  type Job,
  type TrainJob,
  type EvaluateJob,
  type RadiomicsJob,
  type AnalysisJob,
  type ReportJob,
  type ExperimentPlan,
  type PlanOptions,
  type JobRecord,
} from './plan.js';
export { executeInProcess, type JobRunner, type ExecutorEvents, type ExecuteOptions, type ExecutionSummary } from './executor.js';
export { setupExperiment, openExperiment, planOf, type ExperimentFile, type SetupOptions, type ExperimentSetup } from './setup.js';
export { createJobRunner, trainRunDir, type TrainJobResult, type EvaluateJobResult, type RadiomicsJobResult } from './jobs.js';
export { runExperiment, type RunExperimentOptions, type ExperimentRun } from './run.js';
