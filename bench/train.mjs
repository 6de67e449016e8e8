#!/usr/bin/env node
// Training throughput through the Trainer (data loading + augmentation prefetched, one native
// trainStep per batch) at small configurations, against bare trainStep calls on a fixed batch.
//
//   node bench/train.mjs [--configs spottune50,resnet10] [--steps N] [--device cpu|cuda] [--out FILE]
//
// spottune50: SpotTune3D-50 (agent ResNet10), batch 2 of 1x32x40x40. resnet10: the random ResNet10,
// batch 2 of 1x32x40x40. The training set is expanded by the study's recipe (flip, rotate, noise,
// deform), so 4 of 5 volumes are augmented on the fly while the previous step runs.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    configs: { type: 'string', default: 'resnet10,spottune50' },
    steps: { type: 'string', default: '6' },
    device: { type: 'string', default: 'cpu' },
    out: { type: 'string' },
  },
});
const lib = await import(join(root, 'dist/lib/index.js'));
const shape = [32, 40, 40];
const voxels = shape[0] * shape[1] * shape[2];
const batch = 2;
const steps = Number(opt.steps);
const CONFIGS = {
  resnet10: { kind: 'random', depth: 10 },
  spottune50: { kind: 'spottune', depth: 50, agentDepth: 10 },
};

const results = {};
for (const name of opt.configs.split(',')) {
  const t0 = performance.now();
  const network = await lib.createNetwork({ ...CONFIGS[name], device: opt.device });
  const createSeconds = (performance.now() - t0) / 1000;
  // bare steps on one batch
  const x = Float32Array.from({ length: batch * voxels }, (_, i) => ((i * 7919) % 1000) / 1000);
  const y = Float32Array.of(0, 1);
  await network.trainStep(x, [batch, 1, ...shape], y, { seed: 0, tau: 100 }); // warm-up (tau: the study's Gumbel temperature; ResNets ignore it)
  let t = performance.now();
  for (let i = 1; i <= steps; i++) await network.trainStep(x, [batch, 1, ...shape], y, { seed: i, tau: 100 });
  const bare = steps / ((performance.now() - t) / 1000);
  // the Trainer: one epoch of `steps` batches from an expanded (augmented) set
  const base = Array.from({ length: Math.ceil((steps * batch) / 5) }, (_, k) => ({
    id: `p${k}`,
    label: k % 2,
    load: async () => Float32Array.from({ length: voxels }, (_, i) => ((i * (k + 3)) % 101) / 101),
  }));
  const { samples } = lib.expandTrainingSet(base, shape, { balance: false, device: opt.device });
  const validation = base.slice(0, 2);
  const trainer = new lib.Trainer({
    network,
    train: samples.slice(0, steps * batch),
    validation,
    shape,
    config: { epochs: 1, batchSize: batch, senThreshold: 0, speThreshold: 0 },
  });
  let stepSeconds = 0;
  trainer.on('step', (s) => (stepSeconds += s.seconds));
  t = performance.now();
  await trainer.run();
  const epochSeconds = (performance.now() - t) / 1000;
  results[name] = {
    ...CONFIGS[name],
    input: [batch, 1, ...shape],
    createSeconds: +createSeconds.toFixed(2),
    bareStepsPerSecond: +bare.toFixed(3),
    trainerStepsPerSecond: +(steps / stepSeconds).toFixed(3),
    epochSecondsIncludingValidation: +epochSeconds.toFixed(2),
  };
  network.dispose();
  console.log(name, JSON.stringify(results[name]));
}
const summary = {
  device: opt.device,
  threads: lib.runtime().threads,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  load: loadavg()[0],
  steps,
  results,
};
if (opt.out) writeFileSync(opt.out, `${JSON.stringify(summary, null, 2)}\n`);
