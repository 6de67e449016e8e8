#!/usr/bin/env node
// The spottune3d side of the benchmarks: a worker driven by bench/run.mjs, speaking the same
// line protocol as bench/reference/worker.py (see there). Every case does the same work as the
// reference case of the same name, through the library's public API (dist/lib/index.js).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = await import(join(root, 'dist', 'lib', 'index.js'));

/** VmHWM and VmRSS of this process, kB (Linux). */
function readStatus() {
  const out = {};
  for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmHWM|VmRSS):\s+(\d+)/.exec(line);
    if (m) out[`${m[1].toLowerCase()}_kb`] = Number(m[2]);
  }
  return out;
}

/** Uniform [0, 1) float32 values from a small seeded generator (inputs only; never timed). */
function randomVolume(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 4294967296;
  }
  return out;
}

function need(name) {
  const value = lib[name];
  if (value === undefined) throw new Error(`not available yet: spottune3d does not export ${name}`);
  return value;
}

const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);

/** Each case: setup(params) -> info, run() -> Promise (resolves when the work is done), dispose(). */
const CASES = {
  async augment(p) {
    const { Tensor } = lib;
    const rotate = need('rotate');
    const elasticDeform = need('elasticDeform');
    const shape = p.shape;
    const image = randomVolume(sizeOf(shape), 3);
    const displacement = Float64Array.from(p.displacement);
    const points = [p.points ?? 3, p.points ?? 3, p.points ?? 3];
    const device = p.device ?? 'cpu';
    return {
      info: {},
      async run() {
        // Float32Array in, Float32Array out, like the numpy arrays of the reference
        const input = Tensor.from(image, shape);
        const onDevice = device === 'cpu' ? input : await input.to(device);
        const rotated = (await rotate(onDevice, p.angleDeg ?? 37, { plane: [0, 1], order: 1, mode: 'constant' })).image;
        const deformed = (await elasticDeform(rotated, displacement, points, { order: 0, mode: 'constant' })).image;
        await deformed.data();
        for (const t of new Set([input, onDevice, rotated, deformed])) t.dispose();
      },
      dispose() {},
    };
  },

  async preprocess(p) {
    // What prepareCohort does per volume: readNiftiRaw (stored voxels, no float conversion) and the
    // data area's preprocessVolume (lib/data/preprocess/): mask, crop, skimage-exact rescale
    // (Gaussian anti-aliasing + linear zoom), min-max, pad; the same steps as the reference
    const readNiftiRaw = need('readNiftiRaw');
    const preprocessVolume = need('preprocessVolume');
    const config = need('resolvePreprocess')({});
    const box = need('presetCropBox')(config.crop);
    return {
      info: {},
      async run() {
        for (const [imagePath, maskPath] of p.files) {
          // one after the other, as the single-threaded reference does
          const image = await readNiftiRaw(imagePath);
          const mask = await readNiftiRaw(maskPath);
          const input = { data: image.stored, shape: image.shape, sourceDtype: image.header.dtype, slope: image.slope, inter: image.inter };
          const out = preprocessVolume(input, mask, box, config);
          if (!out.ok) throw new Error(`preprocessVolume refused ${imagePath}: ${out.reason}`);
        }
      },
      dispose() {},
    };
  },
};

/** A network of the study built the way the reference builds its twin. */
async function network(kind, p) {
  const create = kind === 'spottune' ? need('createSpotTune3d') : need('createResNet3d');
  return create({
    depth: 50,
    device: p.device ?? 'cpu',
    mixedPrecision: p.amp === 'bf16' ? 'bf16' : false,
    channelsLast: Boolean(p.channelsLast),
    seed: p.seed ?? 42,
  });
}

function batchOf(p) {
  const shape = [p.batch, 1, ...p.shape];
  return { shape, input: randomVolume(sizeOf(shape), 1), labels: Float32Array.from({ length: p.batch }, (_, i) => i % 2) };
}

/** One optimisation step per run() (SpotTune: agent, hard Gumbel policy, both copies, BCE, backward, both Adams). */
async function trainCase(kind, p) {
  const net = await network(kind, p);
  const { shape, input, labels } = batchOf(p);
  let step = 0;
  return {
    info: { parameters: net.parameterCount(), trainable: net.parameterCount({ trainable: true }) },
    async run() {
      await net.trainStep(input, shape, labels, { seed: step++, tau: 100 });
    },
    dispose: () => net.dispose(),
  };
}

/** Eval-mode prediction; SpotTune samples the policy and, with routing 'select', runs only the chosen copies. */
async function predictCase(kind, p) {
  const net = await network(kind, p);
  const { shape, input } = batchOf(p);
  let seed = 0;
  const options = kind === 'spottune' ? { policy: 'sample', routing: p.routing ?? 'select' } : {};
  return {
    info: {},
    async run() {
      await net.predict(input, shape, { ...options, seed: seed++ });
    },
    dispose: () => net.dispose(),
  };
}

CASES['spottune-train'] = (p) => trainCase('spottune', p);
CASES['spottune-predict'] = (p) => predictCase('spottune', p);
CASES['resnet-train'] = (p) => trainCase('resnet', p);
CASES['resnet-forward'] = (p) => predictCase('resnet', p);

async function main() {
  const threads = Number(process.env.BENCH_THREADS ?? 0);
  let addonError = null;
  try {
    if (threads > 0) lib.setNumThreads(threads);
  } catch (err) {
    addonError = err.message.split('\n')[0]; // the pure-TS cases still run
  }
  let current = null;
  const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    try {
      if (msg.op === 'exit') break;
      if (msg.op === 'hello') {
        if (addonError) {
          reply({ ok: true, info: { node: process.version, addonError } });
        } else {
          const rt = lib.runtime();
          reply({
            ok: true,
            info: { torch: rt.torchVersion, threads: rt.threads, node: process.version, cuda: rt.cudaAvailable, cudnn: rt.cudnn },
          });
        }
      } else if (msg.op === 'setup') {
        if (current) await current.dispose();
        current = null;
        const factory = CASES[msg.case];
        if (!factory) throw new Error(`unknown case ${msg.case}`);
        const t = performance.now();
        current = await factory(msg.params ?? {});
        reply({ ok: true, info: { ...current.info, setupMs: performance.now() - t } });
      } else if (msg.op === 'run') {
        const t = performance.now();
        await current.run();
        reply({ ok: true, ms: performance.now() - t });
      } else if (msg.op === 'peak') {
        reply({ ok: true, ...readStatus() });
      } else {
        reply({ ok: false, error: `unknown op ${msg.op}` });
      }
    } catch (err) {
      reply({ ok: false, error: `${err?.name ?? 'Error'}: ${err?.message ?? err}`, trace: String(err?.stack ?? '').slice(-2000) });
    }
  }
  if (current) await current.dispose();
}

await main();
