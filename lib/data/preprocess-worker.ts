/**
 * Worker-thread entry for {@link prepareCohort}: receives patient jobs, posts one message per
 * modality and one when the patient is done. Internal.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { runPatientJob, type PatientJob } from './preprocess-job.js';

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: PatientJob) => {
    runPatientJob(job, (r) => port.postMessage({ type: 'item', ...r }))
      .then(() => port.postMessage({ type: 'patient-done', id: job.id }))
      .catch((err: Error) => port.postMessage({ type: 'patient-failed', id: job.id, message: err.message }));
  });
}
