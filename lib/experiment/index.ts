// Public exports of lib/experiment. lib/index.ts re-exports everything here.
export { planExperiment, jobDone, readJobResult, jobResultPath, trainJobId, evaluateJobId, type Job, type TrainJob, type EvaluateJob, type RadiomicsJob, type AnalysisJob, type ReportJob, type ExperimentPlan, type PlanOptions, type JobRecord } from './plan.js';
export { executeInProcess, type JobRunner, type ExecutorEvents, type ExecuteOptions, type ExecutionSummary } from './executor.js';
export { setupExperiment, openExperiment, planOf, EXPERIMENT_FILE, type ExperimentFile, type SetupOptions, type ExperimentSetup } from './setup.js';
export { createJobRunner, trainRunDir, type TrainJobResult, type EvaluateJobResult, type RadiomicsJobResult } from './jobs.js';
export { runExperiment, type RunExperimentOptions, type ExperimentRun } from './run.js';
export * from './queue/index.js';
