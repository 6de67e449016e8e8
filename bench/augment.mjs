#!/usr/bin/env node
// Augmentation throughput at the study's input size (70x86x86): spottune3d's LibTorch ops (dist/)
// against the study's Python stack (bench/augment.py: scipy.ndimage + scikit-image). Elastic is
// deform_random_grid(sigma=5, points=3, order=0); rotation is skimage-style, order 1, (D, H) plane.
// Rounds alternate (ours, theirs, ...) so machine load hits both alike.
//
//   node bench/augment.mjs [--reps N] [--volumes N] [--threads N] [--device cpu|cuda] [--out FILE]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '2' },
    volumes: { type: 'string', default: '10' },
    threads: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    out: { type: 'string' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const lib = await import(join(root, 'dist/lib/index.js'));
const { randomElasticDeform, randomRotate, Tensor, setNumThreads, runtime } = lib;
if (opt.threads) setNumThreads(Number(opt.threads));
const shape = [70, 86, 86];
const n = Number(opt.volumes);
const data = new Float32Array(shape[0] * shape[1] * shape[2]).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const host = { data, shape };
const tensor = await Tensor.from(data, shape).to(opt.device);

async function time(fn) {
  await fn(0); // warm up
  const t = performance.now();
  for (let i = 1; i <= n; i++) await fn(i);
  return (performance.now() - t) / 1000 / n;
}

async function ours() {
  const elastic = (v) => (i) => randomElasticDeform(v, { seed: i, device: opt.device });
  const rot = (v) => (i) => randomRotate(v, { seed: i, device: opt.device });
  const both = (v) => async (i) => {
    await elastic(v)(i);
    await rot(v)(i);
  };
  return {
    host: { elastic_s: await time(elastic(host)), rotate_s: await time(rot(host)), both_s: await time(both(host)) },
    tensor: { elastic_s: await time(elastic(tensor)), rotate_s: await time(rot(tensor)), both_s: await time(both(tensor)) },
  };
}

function theirs() {
  const r = spawnSync(opt.python, [join(root, 'bench/augment.py'), ...shape.map(String), String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const rounds = [];
for (let rep = 0; rep < Number(opt.reps); rep++) rounds.push({ ours: await ours(), theirs: theirs() });
const best = (pick) => Math.min(...rounds.map(pick));
const rate = (s) => +(1 / s).toFixed(2);
const summary = {
  shape,
  volumes: n,
  device: opt.device,
  threads: runtime().threads,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  load: loadavg()[0],
  volumesPerSecond: {
    ours_host: {
      elastic: rate(best((r) => r.ours.host.elastic_s)),
      rotate: rate(best((r) => r.ours.host.rotate_s)),
      elasticPlusRotate: rate(best((r) => r.ours.host.both_s)),
    },
    ours_tensor: {
      elastic: rate(best((r) => r.ours.tensor.elastic_s)),
      rotate: rate(best((r) => r.ours.tensor.rotate_s)),
      elasticPlusRotate: rate(best((r) => r.ours.tensor.both_s)),
    },
    python: {
      elastic: rate(best((r) => r.theirs.elastic_s)),
      rotate: rate(best((r) => r.theirs.rotate_s)),
      elasticPlusRotate: rate(best((r) => r.theirs.both_s)),
    },
  },
  rounds,
};
console.log(JSON.stringify(summary.volumesPerSecond, null, 2));
if (opt.out) writeFileSync(opt.out, `${JSON.stringify(summary, null, 2)}\n`);
