/**
 * Scripts the study's experiment: the README's third quick start, on a synthetic cohort at a toy size.
 *
 * Run (see examples/README.md): `node dist/examples/experiment.js [DATA_DIR]`
 * Given no folder, it writes a small synthetic cohort in the UPENN-GBM layout first. Either way it
 * runs the whole protocol (preprocessing, splits, trainings, Gumbel-averaged evaluation, ensembles,
 * statistics, report) in a temporary folder, reduced to one modality, one network trained from
 * random initialisation (so it needs no MedicalNet weights), 2 folds and 1 epoch: about a minute on
 * 2 cores. The paper's run is the same call with `weights: 'resnet_50.pth'` and no `config`, into
 * a lasting `out` folder (`spottune experiment` is its command line).
 * Prints the number of jobs, how many failed, whether the report was written, and a resolved config.
 *
 * The lines between the `#region readme` markers are the README's snippet, word for word
 * (test/examples.test.ts compares them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// #region readme
import { runExperiment, resolveExperimentConfig } from 'spottune3d';
// #endregion readme
import { synthCohort, type ExperimentOptions } from 'spottune3d';

/** A toy protocol: everything not named here is the paper's value (configs/paper.json). */
const toy: ExperimentOptions = {
  networks: ['random'],
  modalities: ['FLAIR'],
  ensembles: { Struct: ['FLAIR'] },
  splits: { folds: 2, anchor: null }, // one modality group: nothing to anchor the split on
  network: { depth: 10, learningRate: 3e-3 },
  train: { epochs: 1, batchSize: 8 },
  augment: { kinds: ['flip'] },
  preprocess: { crop: 'tumour', scale: 0.5, padTo: null }, // about 25 x 29 x 30 voxels
  evaluation: { gumbelSamples: 2 },
  stats: { bootstrapResamples: 50 },
  radiomics: false,
};

const dir = mkdtempSync(join(tmpdir(), 'spottune-example-'));
try {
  let data = process.argv[2];
  if (!data) {
    data = join(dir, 'NIfTI-files');
    await synthCohort({ out: data, patients: 24, size: 'small', seed: 1, signal: 4 });
  }
  const weights = null; // the paper: 'resnet_50.pth', which its 'spottune' and 'transfer' networks start from
  const config = toy; // the paper: undefined, i.e. configs/paper.json's values
  const out = join(dir, 'run');
  // #region readme

  // The paper's run: data '/data/NIfTI-files', out 'runs/paper', weights 'resnet_50.pth', no config
  const run = await runExperiment({ data, out, weights, config, concurrency: 2 });
  console.log(run.reportPath, run.summary.failed);
  const quick = resolveExperimentConfig({ train: { epochs: 3 }, evaluation: { gumbelSamples: 10 } });
  // #endregion readme
  console.log('jobs', run.jobs, 'failed', run.summary.failed.length, 'report', run.reportPath ? 'written' : 'missing');
  console.log('quick epochs', quick.train.epochs, 'gumbelSamples', quick.evaluation.gumbelSamples, 'batchSize', quick.train.batchSize);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
