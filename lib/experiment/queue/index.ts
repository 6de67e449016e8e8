// The `spottune3d/queue` door (package.json "exports"; not re-exported by the root): the scaled-out
// executor, the experiment plan on a BullMQ queue over Redis. bullmq loads when a queue or worker
// is first opened, not when this door is imported.
export { enqueueExperiment, executeOnQueue, followExperiment, formatQueueStatus, queueStatus } from './coordinator.js';
export type { EnqueueOptions, EnqueueResult, FollowOptions, QueueStatus, QueueTarget } from './coordinator.js';
export { experimentKey, queueJobId } from './protocol.js';
export type { QueueJobData, QueueJobReturn } from './protocol.js';
export { DEFAULT_RUNNER_MODULE, loadJobRunner } from './runner.js';
export type { JobContext, RunnerContext, RunnerModule } from './runner.js';
export { startQueueWorker } from './worker.js';
export type { QueueWorker, QueueWorkerOptions } from './worker.js';
