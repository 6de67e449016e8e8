#!/usr/bin/env node
// Decode + preprocess throughput: spottune3d (dist/, TypeScript, one thread) against the study's Python
// (nibabel + NumPy + scikit-image, bench/preprocess.py) on the same full-size 155x240x240 .nii.gz files.
// Rounds alternate (ours, theirs, ours, theirs) so machine load hits both alike.
//
//   node bench/preprocess.mjs [--data DIR] [--patients N] [--reps N] [--workers N] [--mask tumour|box:M|brain] [--out FILE]
//   node bench/preprocess.mjs --builds base=DIR,other=DIR[,...] [--rounds N] [--patients N] [--mask ...] [--out FILE]
//
// Without --data, a full-size synthetic cohort is generated once under bench/out/preprocess-full
// (its generation time is reported too). --workers N also times prepareCohort with N worker threads.
// After masking, spottune3d's work follows the tumour's bounding box, so its speed depends on the
// tumour's size (reported as maskBoxFraction, the box's share of the crop). --mask brain replaces
// each patient's segmentation by the whole head (every non-zero voxel of its first image) for both
// sides: the worst case, a box as large as the crop; --mask box:M by the head inside the tumour's
// box widened by M voxels on every side (a larger tumour: box:15 makes a box ~10% of the crop).
//
// --builds compares the preprocessing (maskRegion + preprocessVolume, decoding excluded) of
// several compiled builds of lib/ (each DIR a tsc outDir, e.g. `npx tsc -p tsconfig.build.json
// --outDir bench/out/ab/NAME` from a variant of the sources) on the same decoded volumes, in one
// process: each build's modules (and so V8's type feedback) are its own, rounds interleave the
// builds in a rotating order, and each round's time is divided by the first build's time in that
// round, so machine load that drifts between rounds cancels. Reports the median and range of those
// paired ratios (below 1: faster than the first build), and whether every output is bit-identical.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    data: { type: 'string' },
    patients: { type: 'string', default: '2' },
    reps: { type: 'string', default: '2' },
    workers: { type: 'string' },
    mask: { type: 'string', default: 'tumour' },
    out: { type: 'string' },
    builds: { type: 'string' },
    rounds: { type: 'string', default: '9' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const lib = await import(join(root, 'dist/lib/index.js'));
const {
  synthCohort,
  openCohort,
  readNiftiRaw,
  writeNifti,
  preprocessVolume,
  maskRegion,
  resolvePreprocess,
  presetCropBox,
  prepareCohort,
  readNpy,
  MODALITIES,
} = lib;

let synthSeconds;
let dataDir = opt.data && resolve(opt.data);
if (!dataDir) {
  dataDir = join(root, 'bench/out/preprocess-full');
  if (!existsSync(join(dataDir, 'UPENN-GBM_clinical_info_v2.1.csv'))) {
    const t = performance.now();
    const r = await synthCohort({ out: dataDir, patients: Number(opt.patients), size: 'full', seed: 1 });
    synthSeconds = (performance.now() - t) / 1000;
    console.log(`synthesised ${r.scans.length} full-size scans (${r.files} files) in ${synthSeconds.toFixed(1)} s`);
  }
}
const cohort = await openCohort(dataDir);
const patients = cohort.patients
  .slice(0, Number(opt.patients))
  .map((p) => ({ id: p.id, mask: p.mask, images: MODALITIES.filter((m) => p.images[m]).map((m) => p.images[m]) }));
const config = resolvePreprocess({});
const box = presetCropBox(config.crop);
const reps = Number(opt.reps);
const volumes = patients.reduce((n, p) => n + p.images.length, 0);

// What prepareCohort's patient job does, one volume after another: the mask is read and its tumour
// located once per patient, then each image is decoded and preprocessed. With `overlap`, the next
// image inflates (on libuv's thread pool) while this one is preprocessed, as the job really runs.
async function ours(saveFirst, overlap = false) {
  let decode = 0;
  let prep = 0;
  let first;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const p of patients) {
    let t = performance.now();
    const raw = await readNiftiRaw(p.mask);
    let t1 = performance.now();
    decode += t1 - t;
    const mask = { data: raw.data, shape: raw.shape, region: maskRegion(raw.data, raw.shape) };
    prep += performance.now() - t1;
    let next = overlap ? readNiftiRaw(p.images[0]) : undefined;
    for (const [k, path] of p.images.entries()) {
      t = performance.now();
      const img = await (overlap ? next : readNiftiRaw(path));
      if (overlap) next = k + 1 < p.images.length ? readNiftiRaw(p.images[k + 1]) : undefined;
      t1 = performance.now();
      const r = preprocessVolume(
        { data: img.stored, shape: img.shape, sourceDtype: img.header.dtype, slope: img.slope, inter: img.inter },
        mask,
        box,
        config,
      );
      prep += performance.now() - t1;
      decode += t1 - t;
      if (!r.ok) throw new Error(`${path}: ${r.reason}`);
      if (saveFirst && !first) first = r.data;
    }
  }
  const c = process.cpuUsage(c0);
  return {
    seconds: (performance.now() - t0) / 1000,
    cpu_s: (c.user + c.system) / 1e6,
    decode_s: decode / 1000,
    preprocess_s: prep / 1000,
    first,
  };
}

const tmp = join(root, 'bench/out/preprocess-tmp');
mkdirSync(tmp, { recursive: true });
const grow = /^box:(\d+)$/.exec(opt.mask);
if (opt.mask === 'brain' || grow) {
  for (const p of patients) {
    const img = await readNiftiRaw(p.images[0]);
    const [D, H, W] = img.shape;
    let keep = () => true;
    if (grow) {
      const raw = await readNiftiRaw(p.mask);
      const b = maskRegion(raw.data, raw.shape).box.map(([a, c]) => [a - Number(grow[1]), c + Number(grow[1])]);
      keep = (z, y, x) => z >= b[0][0] && z < b[0][1] && y >= b[1][0] && y < b[1][1] && x >= b[2][0] && x < b[2][1];
    }
    const m = new Uint8Array(D * H * W);
    for (let z = 0, i = 0; z < D; z++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++, i++) m[i] = img.stored[i] !== 0 && keep(z, y, x) ? 1 : 0;
    p.mask = join(tmp, `${p.id}-${opt.mask.replace(':', '')}-mask.nii.gz`);
    await writeNifti(p.mask, { data: m, shape: img.shape, spacing: img.spacing, affine: img.affine }, { compressionLevel: 1 });
  }
} else if (opt.mask !== 'tumour') throw new Error(`--mask is tumour, brain or box:M, not ${opt.mask}`);
let maskBoxFraction = 0;
for (const p of patients) {
  const m = await readNiftiRaw(p.mask);
  const b = maskRegion(m.data, m.shape).box;
  maskBoxFraction +=
    box.reduce((f, [a, c], i) => (f * Math.max(0, Math.min(c, b[i][1]) - Math.max(a, b[i][0]))) / (c - a), 1) / patients.length;
}
if (opt.builds) {
  const builds = [];
  for (const spec of opt.builds.split(',')) {
    const [name, dir] = spec.split('=');
    // lib/data/preprocess/ since it became a folder; lib/data/preprocess.js before
    const folder = join(resolve(dir), 'lib/data/preprocess/index.js');
    builds.push({ name, m: await import(existsSync(folder) ? folder : join(resolve(dir), 'lib/data/preprocess.js')) });
  }
  // decoded once; every build preprocesses the same stored voxels
  const decoded = [];
  for (const p of patients) {
    const raw = await readNiftiRaw(p.mask);
    decoded.push({ mask: { data: raw.data, shape: raw.shape }, images: await Promise.all(p.images.map((path) => readNiftiRaw(path))) });
  }
  const kinds = new Set(decoded.flatMap((p) => p.images.map((i) => `${i.header.dtype}${i.slope !== 1 || i.inter !== 0 ? ' scaled' : ''}`)));
  // the work items: each patient's maskRegion, then each image's preprocessVolume against it
  const items = decoded.flatMap((p, k) => [{ patient: k }, ...p.images.map((img) => ({ patient: k, img }))]);
  const regions = builds.map(() => []);
  const runItem = (b, k, item) => {
    const p = decoded[item.patient];
    if (!item.img) {
      regions[k][item.patient] = b.m.maskRegion(p.mask.data, p.mask.shape);
      return undefined;
    }
    const { img } = item;
    const r = b.m.preprocessVolume(
      { data: img.stored, shape: img.shape, sourceDtype: img.header.dtype, slope: img.slope, inter: img.inter },
      { ...p.mask, region: regions[k][item.patient] },
      box,
      config,
    );
    if (!r.ok) throw new Error(r.reason);
    return r.data;
  };
  // warm-up (JIT), and the outputs compared bit for bit against the first build's
  const first = builds.map((b, k) => items.map((item) => runItem(b, k, item)).filter(Boolean));
  const identical = first.map((outs) => outs.every((o, k) => Buffer.compare(Buffer.from(o.buffer), Buffer.from(first[0][k].buffer)) === 0));
  // Interleaved at the item level: for each item every build runs once, in an order that rotates
  // with the round and the item, so load that changes within a round reaches every build alike.
  // Time is CPU time (user + system) as well as wall: a thread descheduled by other load is not charged.
  const rounds = Number(opt.rounds);
  const load = [loadavg()[0]];
  for (const b of builds) Object.assign(b, { cpu: [], wall: [] });
  for (let i = 0; i < rounds; i++) {
    for (const b of builds) b.cpu.push(0), b.wall.push(0);
    for (const [n, item] of items.entries()) {
      for (let j = 0; j < builds.length; j++) {
        const k = (j + i + n) % builds.length;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        runItem(builds[k], k, item);
        const c = process.cpuUsage(c0);
        builds[k].wall[i] += performance.now() - t0;
        builds[k].cpu[i] += (c.user + c.system) / 1000;
      }
    }
    load.push(loadavg()[0]);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const paired = (b, key) => {
    const ratios = b[key].map((t, i) => t / builds[0][key][i]);
    return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
  };
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
  const result = {
    date: new Date().toISOString(),
    machine: { model: /Model name:\s*(.*)/.exec(lscpu)?.[1]?.trim() ?? cpus()[0]?.model, cpus: cpus().length, loadavg: load },
    volumes,
    voxelKinds: [...kinds],
    mask: opt.mask,
    maskBoxFraction,
    rounds,
    builds: builds.map((b, k) => ({
      name: b.name,
      medianCpuMs: median(b.cpu),
      medianWallMs: median(b.wall),
      cpuRatio: paired(b, 'cpu'),
      wallRatio: paired(b, 'wall'),
      bitIdentical: identical[k],
    })),
  };
  console.log(
    `preprocessing of ${volumes} decoded volumes (${[...kinds].join(', ')}; ${opt.mask} mask, its box ${(100 * maskBoxFraction).toFixed(1)}% of the crop), ${rounds} interleaved rounds`,
  );
  const show = (r) => `${r.median.toFixed(3)} (${r.min.toFixed(3)}..${r.max.toFixed(3)})`;
  for (const b of result.builds)
    console.log(
      `  ${b.name.padEnd(16)} median ${b.medianCpuMs.toFixed(0)} CPU-ms, ${b.medianWallMs.toFixed(0)} ms wall; per round / ${builds[0].name}'s: CPU ${show(b.cpuRatio)}, wall ${show(b.wallRatio)}; bit-identical ${b.bitIdentical}`,
    );
  if (opt.out) writeFileSync(opt.out, `${JSON.stringify(result, null, 2)}\n`);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
}
function theirs(save) {
  const jobPath = join(tmp, 'job.json');
  writeFileSync(jobPath, JSON.stringify({ patients, box, scale: config.scale, pad: config.padTo, reps: 1, ...(save ? { save } : {}) }));
  const r = spawnSync(opt.python, [join(root, 'bench/preprocess.py'), jobPath], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

const rows = { ours: [], theirs: [], overlapped: [] };
const load = [loadavg()[0]];
await ours(false); // warm-up (JIT)
for (let i = 0; i < reps; i++) {
  const o = await ours(i === 0);
  rows.ours.push(o);
  const t = theirs(i === 0 ? join(tmp, 'first.npy') : undefined);
  rows.theirs.push(t);
  rows.overlapped.push(await ours(false, true));
  load.push(loadavg()[0]);
  if (i === 0) {
    const ref = await readNpy(join(tmp, 'first.npy'));
    let max = 0;
    for (let k = 0; k < ref.data.length; k++) max = Math.max(max, Math.abs(ref.data[k] - o.first[k]));
    rows.maxAbsDiff = max;
  }
}
const best = (list, key) => Math.min(...list.map((r) => r[key]));
const summary = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: load },
  volumes,
  shape: [155, 240, 240],
  ours: {
    volumesPerSecond: volumes / best(rows.ours, 'seconds'),
    volumesPerCpuSecond: volumes / best(rows.ours, 'cpu_s'),
    decodeSeconds: best(rows.ours, 'decode_s'),
    preprocessSeconds: best(rows.ours, 'preprocess_s'),
  },
  theirs: {
    volumesPerSecond: volumes / best(rows.theirs, 'seconds'),
    volumesPerCpuSecond: volumes / best(rows.theirs, 'cpu_s'),
    decodeSeconds: best(rows.theirs, 'decode_s'),
    preprocessSeconds: best(rows.theirs, 'preprocess_s'),
  },
  // the same, the next volume's inflate overlapping this one's preprocessing (two threads busy at times)
  oursOverlapped: {
    volumesPerSecond: volumes / best(rows.overlapped, 'seconds'),
    volumesPerCpuSecond: volumes / best(rows.overlapped, 'cpu_s'),
  },
  mask: opt.mask,
  maskBoxFraction,
  maxAbsDiff: rows.maxAbsDiff,
  synthSeconds,
};
if (opt.workers) {
  const dir = join(tmp, 'cache');
  rmSync(dir, { recursive: true, force: true });
  const t = performance.now();
  const r = await prepareCohort(cohort, { out: dir, workers: Number(opt.workers), modalities: MODALITIES });
  summary.prepareWorkers = {
    workers: Number(opt.workers),
    volumes: r.prepared,
    volumesPerSecond: r.prepared / ((performance.now() - t) / 1000),
  };
}
console.log(
  `decode + preprocess of ${volumes} full-size .nii.gz volumes (best of ${reps}, one thread each; ${opt.mask} mask, its box ${(100 * maskBoxFraction).toFixed(1)}% of the crop)`,
);
console.log(
  `  spottune3d  ${summary.ours.volumesPerSecond.toFixed(2)} volumes/s wall, ${summary.ours.volumesPerCpuSecond.toFixed(2)} per CPU-second  (decode ${summary.ours.decodeSeconds.toFixed(2)} s, preprocess ${summary.ours.preprocessSeconds.toFixed(2)} s)`,
);
console.log(
  `  python      ${summary.theirs.volumesPerSecond.toFixed(2)} volumes/s wall, ${summary.theirs.volumesPerCpuSecond.toFixed(2)} per CPU-second  (decode ${summary.theirs.decodeSeconds.toFixed(2)} s, preprocess ${summary.theirs.preprocessSeconds.toFixed(2)} s)`,
);
console.log(
  `  spottune3d, next inflate overlapping: ${summary.oursOverlapped.volumesPerSecond.toFixed(2)} volumes/s wall, ${summary.oursOverlapped.volumesPerCpuSecond.toFixed(2)} per CPU-second`,
);
console.log(
  `  ratio ours/python (one thread): ${(summary.ours.volumesPerSecond / summary.theirs.volumesPerSecond).toFixed(2)}x wall, ${(summary.ours.volumesPerCpuSecond / summary.theirs.volumesPerCpuSecond).toFixed(2)}x per CPU-second`,
);
console.log(
  `  max |ours - python| on the first volume: ${summary.maxAbsDiff.toExponential(2)}; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}`,
);
if (summary.prepareWorkers)
  console.log(
    `  prepareCohort with ${summary.prepareWorkers.workers} workers: ${summary.prepareWorkers.volumesPerSecond.toFixed(2)} volumes/s over ${summary.prepareWorkers.volumes} volumes`,
  );
if (opt.out) writeFileSync(opt.out, `${JSON.stringify(summary, null, 2)}\n`);
rmSync(tmp, { recursive: true, force: true });
