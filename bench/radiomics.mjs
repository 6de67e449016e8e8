#!/usr/bin/env node
// Radiomics timing: the study's six features (and, with --all, every feature of the four classes
// for the four structural modalities and five regions) per patient on full-size 155 x 240 x 240
// synthetic volumes, through the library's public API (dist/; run `npm run build:ts` first).
// Volumes are made in memory (never timed): a brain-like ellipsoid with smooth intensity drift and
// noise, and nested tumour regions (oedema, enhancing shell, necrotic core) of realistic size.
//
//   node bench/radiomics.mjs [--reps 5] [--all]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = await import(join(root, 'dist', 'lib', 'index.js'));
const { values: opt } = parseArgs({ options: { reps: { type: 'string', default: '5' }, all: { type: 'boolean', default: false } } });

const shape = [155, 240, 240];
const [D, H, W] = shape;
const n = D * H * W;
let s = 12345;
const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;

const segmentation = new Uint8Array(n);
const tumour = { z: 80, y: 110, x: 140 };
for (let z = 0, p = 0; z < D; z++) {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++, p++) {
      // slightly irregular radius so zones and neighbourhoods are not perfectly spherical
      const r = Math.hypot((z - tumour.z) * 1.1, y - tumour.y, (x - tumour.x) * 0.9) * (1 + 0.08 * Math.sin(x / 5) * Math.cos(y / 7));
      segmentation[p] = r < 10 ? 1 : r < 20 ? 4 : r < 34 ? 2 : 0;
    }
  }
}
const levels = { T1: [700, 450, 550, 500], T1GD: [700, 450, 1100, 500], T2: [500, 950, 650, 850], FLAIR: [500, 350, 700, 900] }; // brain, necrotic, enhancing, oedema
const volumes = { segmentation: { data: segmentation, shape, spacing: [1, 1, 1] } };
for (const [name, [brain, nec, enh, oed]] of Object.entries(levels)) {
  const data = new Float32Array(n);
  for (let z = 0, p = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++, p++) {
        const inBrain = ((z - 77) / 70) ** 2 + ((y - 120) / 100) ** 2 + ((x - 120) / 85) ** 2 < 1;
        const label = segmentation[p];
        const base = label === 1 ? nec : label === 4 ? enh : label === 2 ? oed : inBrain ? brain : 0;
        data[p] = base === 0 ? 0 : Math.round(base * (1 + 0.1 * Math.sin(z / 20 + y / 30)) + 120 * (rand() - 0.5));
      }
    }
  }
  volumes[name] = { data, shape, spacing: [1, 1, 1] };
}
const counts = Object.fromEntries(
  Object.entries(lib.TUMOUR_REGIONS).map(([r, labels]) => [r, segmentation.reduce((c, v) => c + (labels.includes(v) ? 1 : 0), 0)]),
);
console.log(`volumes ${shape.join('x')}; region voxels ${JSON.stringify(counts)}`);

function time(label, fn, reps) {
  fn(); // warm-up
  const ms = [];
  for (let k = 0; k < reps; k++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(
    `${label}: median ${ms[ms.length >> 1].toFixed(0)} ms, min ${ms[0].toFixed(0)}, max ${ms[ms.length - 1].toFixed(0)} (${reps} reps)`,
  );
}

const reps = Number(opt.reps);
time(
  'studyFeatures (six features) per patient',
  () => {
    const r = lib.studyFeatures(volumes);
    if (r.excluded.length) throw new Error(JSON.stringify(r.excluded));
  },
  reps,
);
if (opt.all) {
  time(
    'all 64 features x 4 modalities x 5 regions per patient',
    () => {
      for (const modality of ['T1', 'T1GD', 'T2', 'FLAIR']) {
        for (const labels of Object.values(lib.TUMOUR_REGIONS))
          lib.extractRadiomics(volumes[modality], volumes.segmentation, { label: [...labels] });
      }
    },
    Math.max(1, Math.min(reps, 2)),
  );
}
