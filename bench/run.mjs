#!/usr/bin/env node
// `npm run bench`: spottune3d side by side with a PyTorch / scipy / nibabel reference doing the same
// work, in one run. Two long-lived workers, bench/ours.mjs (this library through dist/) and
// bench/reference/worker.py (/usr/bin/python3), set up each case once, warm up, then alternate
// repetitions (ours, theirs, ours, theirs...), so that load on the machine hits both alike. Each
// worker times its own repetitions (wall clock around the work, device synchronised). Peak memory is
// read from fresh processes. Results: bench/results/<date>-<machine>.json and a table on stdout.
//
// Options (`npm run bench -- --help`):
//   --quick            a fast subset (small inputs, 3 repetitions)
//   --full-size        add the SpotTune3D-50 training step at the paper's 1x70x86x86, batch 1
//   --cases a,b        only these cases (names or prefixes: spottune, resnet, augment, ...)
//   --threads N        intra-op threads on both sides (default 1: see docs/performance.md)
//   --reps N --warmup N  repetitions per side after warm-up (default 5 and 1; 6 and 2 on CUDA)
//   --device cuda      run the network and augmentation cases on CUDA (the GPU script's mode)
//   --batch N --size DxHxW  network input (default 2 and 32x40x40 on CPU)
//   --variants fp32,bf16,bf16-cl  precision / layout variants of the network cases (CUDA)
//   --python PATH      the reference interpreter (default /usr/bin/python3)
//   --out FILE         where to write the JSON (default bench/results/<date>-<machine>.json)
//   --machine NAME     the machine's name in the file name and record
//   --timeout S        per-message timeout, seconds (default 900)
//   --memory-steps N   training steps before the peak-memory reading (default 6; also read after 2)
//   --area-benches     also run the data and training areas' own throughput benchmarks
//                      (bench/preprocess.mjs, bench/augment.mjs) and fold their JSON into the results
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'full-size': { type: 'boolean', default: false },
    cases: { type: 'string' },
    threads: { type: 'string', default: '1' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    batch: { type: 'string' },
    size: { type: 'string' },
    variants: { type: 'string' },
    python: { type: 'string', default: process.env.BENCH_PYTHON ?? '/usr/bin/python3' },
    out: { type: 'string' },
    machine: { type: 'string' },
    timeout: { type: 'string', default: '900' },
    'no-memory': { type: 'boolean', default: false },
    'memory-steps': { type: 'string', default: '6' },
    'area-benches': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  const src = (await import('node:fs')).readFileSync(fileURLToPath(import.meta.url), 'utf8');
  console.log(
    src
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .map((l) => l.slice(3))
      .join('\n'),
  );
  process.exit(0);
}

const cuda = opt.device.startsWith('cuda');
const threads = Number(opt.threads);
const quick = opt.quick;
const timeoutMs = Number(opt.timeout) * 1000;
const parseSize = (s) => s.split('x').map(Number);

// ---------------------------------------------------------------------------------------------
// The plan: which cases, at which sizes.

/** Targets from issue 8: `ratio` is ours/theirs time (lower is better), `speedup` theirs/ours. */
const TARGETS = {
  'spottune-train': { kind: 'ratio', value: 1.0, text: 'ours/theirs <= 1.0' },
  'spottune-predict': { kind: 'speedup', value: 1.6, text: '>= 1.6x faster' },
  augment: { kind: 'speedup', value: 5, text: '>= 5x faster' },
  preprocess: { kind: 'speedup', value: 2, text: '>= 2x faster' },
  memory: { kind: 'ratio', value: 1.0, text: 'ours/theirs <= 1.0' },
  'same-work': { kind: 'ratio', value: 1.0, text: 'ours/theirs <= 1.0' },
  'resnet-forward': { kind: 'ratio', value: 1.0, text: 'ours/theirs <= 1.0' },
  'resnet-train': { kind: 'ratio', value: 1.0, text: 'ours/theirs <= 1.0' },
};

/** The 3x3x3 control-point displacements (voxels) of the elastic deformation: N(0, 5^2), fixed. */
function displacementGrid() {
  let s = 12345;
  const uniform = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
  return Array.from({ length: 81 }, () => 5 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

/**
 * One benchmark case. `params` go to both workers' `setup` as they are; `target` names the
 * TARGETS entry when it is not the case's own, and `inner` the case a memory run trains.
 * @typedef {{ name: string, case: string, params: Record<string, any>, reps?: number,
 *   warmup?: number, volumes?: number, target?: string, inner?: string }} BenchCase
 */

/** @returns {BenchCase[]} */
function plan() {
  const reps = Number(opt.reps ?? (quick ? 3 : cuda ? 6 : 5));
  const warmup = Number(opt.warmup ?? (cuda ? 2 : 1));
  const batch = Number(opt.batch ?? (cuda ? 12 : quick ? 1 : 2));
  const shape = opt.size ? parseSize(opt.size) : cuda ? [70, 86, 86] : quick ? [24, 32, 32] : [32, 40, 40];
  // on CUDA the fastest variant first, so that a run cut short by its deadline still has it
  const variants = (opt.variants ?? (cuda ? 'bf16-cl,bf16,fp32' : 'fp32')).split(',');
  const base = { device: opt.device };
  const tag = (v) => (v === 'fp32' ? {} : v === 'bf16' ? { amp: 'bf16' } : v === 'bf16-cl' ? { amp: 'bf16', channelsLast: true } : null);
  /** @type {BenchCase[]} */
  const out = [];
  const shapeText = (b, s) => `${b}x1x${s.join('x')}`;
  for (const v of variants) {
    const extra = tag(v);
    if (!extra) throw new Error(`unknown variant ${v}`);
    const suffix = v === 'fp32' ? '' : ` ${v}`;
    const net = { ...base, ...extra, batch, shape };
    out.push({
      name: `spottune-train ${shapeText(batch, shape)}${suffix}`,
      case: 'spottune-train',
      params: net,
      reps,
      warmup,
      volumes: batch,
    });
    out.push({
      name: `spottune-predict ${shapeText(batch, shape)}${suffix}`,
      case: 'spottune-predict',
      params: net,
      reps,
      warmup,
      volumes: batch,
    });
    // the same prediction with both copies computed on our side too: isolates the implementation
    // from the policy-aware saving
    out.push({
      name: `spottune-predict-both ${shapeText(batch, shape)}${suffix}`,
      case: 'spottune-predict',
      target: 'same-work',
      params: { ...net, routing: 'both' },
      reps,
      warmup,
      volumes: batch,
    });
    out.push({
      name: `resnet-forward ${shapeText(batch, shape)}${suffix}`,
      case: 'resnet-forward',
      params: net,
      reps,
      warmup,
      volumes: batch,
    });
    out.push({ name: `resnet-train ${shapeText(batch, shape)}${suffix}`, case: 'resnet-train', params: net, reps, warmup, volumes: batch });
  }
  if (opt['full-size'] && !cuda) {
    out.push({
      name: 'spottune-train 1x1x70x86x86',
      case: 'spottune-train',
      params: { ...base, batch: 1, shape: [70, 86, 86] },
      reps: Math.min(reps, 3),
      warmup: 1,
      volumes: 1,
    });
  }
  out.push({
    name: 'augment rotate+elastic 70x86x86',
    case: 'augment',
    params: { ...base, shape: [70, 86, 86], angleDeg: 37, points: 3, displacement: displacementGrid() },
    reps: quick ? 3 : Math.max(reps, 7),
    warmup: 1,
    volumes: 1,
  });
  if (!cuda) {
    const n = quick ? 1 : 2;
    const files = Array.from({ length: n }, (_, i) => [
      join(root, 'bench/out/volumes', `case${i}_t1.nii.gz`),
      join(root, 'bench/out/volumes', `case${i}_mask.nii.gz`),
    ]);
    out.push({
      name: `preprocess ${n}x 240x240x155 nii.gz`,
      case: 'preprocess',
      params: { files },
      reps: quick ? 3 : Math.max(reps, 7),
      warmup: 1,
      volumes: n,
    });
  }
  if (!opt['no-memory']) {
    const mb = cuda ? batch : quick ? 1 : 2;
    out.push({
      name: `memory spottune-train ${shapeText(mb, shape)}`,
      case: 'memory',
      inner: 'spottune-train',
      params: { ...base, batch: mb, shape },
    });
  }
  const wanted = opt.cases
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return wanted ? out.filter((c) => wanted.some((w) => c.case.startsWith(w) || c.name.startsWith(w))) : out;
}

// ---------------------------------------------------------------------------------------------
// Workers: a line protocol over stdin/stdout, one request in flight.

class Worker {
  constructor(label, command, args) {
    this.label = label;
    this.command = command;
    this.args = args;
    this.stderr = '';
    this.proc = spawn(command, args, {
      cwd: root,
      env: { ...process.env, BENCH_THREADS: String(threads), OMP_NUM_THREADS: String(threads), PYTHONUNBUFFERED: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((res) => this.proc.on('exit', (code, signal) => res({ code, signal })));
  }

  async send(msg, ms = timeoutMs) {
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
    let timer;
    const timeout = new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${this.label}: no answer to ${msg.op} within ${ms / 1000} s`)), ms);
    });
    const exit = this.exited.then(({ code, signal }) => {
      throw new Error(`${this.label} exited (code ${code}, signal ${signal}): ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    });
    try {
      const next = await Promise.race([this.lines.next(), timeout, exit]);
      if (next.done) throw new Error(`${this.label} closed its output: ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`);
      const reply = JSON.parse(next.value);
      if (!reply.ok) {
        throw Object.assign(new Error(`${this.label}: ${reply.error}`), { trace: reply.trace });
      }
      return reply;
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    try {
      this.proc.stdin.write('{"op":"exit"}\n');
      this.proc.stdin.end();
    } catch {
      /* already gone */
    }
    const done = await Promise.race([this.exited, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (!done) this.proc.kill('SIGKILL');
  }

  kill() {
    this.proc.kill('SIGKILL');
  }
}

const spawnOurs = () => new Worker('ours', process.execPath, [join(root, 'bench/ours.mjs')]);
const spawnTheirs = () => new Worker('reference', opt.python, [join(root, 'bench/reference/worker.py')]);

// ---------------------------------------------------------------------------------------------
// Statistics

function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75), min: s[0], max: s[s.length - 1], samples };
}

const median = (xs) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

// ---------------------------------------------------------------------------------------------
// Running

let ours = null;
let theirs = null;
const workers = () => {
  ours ??= spawnOurs();
  theirs ??= spawnTheirs();
};
async function restart(which) {
  if (which === 'ours' && ours) {
    ours.kill();
    ours = null;
  }
  if (which === 'theirs' && theirs) {
    theirs.kill();
    theirs = null;
  }
}

async function setupSide(worker, c) {
  try {
    return { info: (await worker.send({ op: 'setup', case: c.case, params: c.params })).info };
  } catch (err) {
    return { error: err.message, trace: err.trace };
  }
}

async function runCase(c) {
  workers();
  const record = { name: c.name, case: c.case, targetKey: c.target ?? c.case, params: summariseParams(c.params), volumes: c.volumes };
  const t0 = performance.now();
  const [o, t] = [await setupSide(ours, c), await setupSide(theirs, c)];
  record.ours = o.error ? { error: o.error } : { info: o.info };
  record.theirs = t.error ? { error: t.error } : { info: t.info };
  const sides = [];
  if (!o.error) sides.push(['ours', ours]);
  if (!t.error) sides.push(['theirs', theirs]);
  const times = { ours: [], theirs: [] };
  for (let rep = 0; rep < c.warmup + c.reps; rep++) {
    for (const [name, worker] of sides) {
      if (record[name].error) continue;
      try {
        const { ms } = await worker.send({ op: 'run' });
        if (rep >= c.warmup) times[name].push(ms);
      } catch (err) {
        record[name].error = err.message;
        if (/no answer|exited|closed/.test(err.message)) await restart(name);
      }
    }
  }
  for (const name of ['ours', 'theirs']) if (!record[name].error && times[name].length) record[name].time = summary(times[name]);
  if (record.ours.time && record.theirs.time) {
    record.ratio = record.ours.time.median / record.theirs.time.median;
    const n = Math.min(times.ours.length, times.theirs.length);
    record.pairedRatio = median(Array.from({ length: n }, (_, i) => times.ours[i] / times.theirs[i]));
    record.speedup = 1 / record.ratio;
  }
  const flops = record.theirs.info?.flops;
  if (flops) {
    record.flops = flops;
    for (const name of ['ours', 'theirs']) {
      const tm = record[name].time;
      if (!tm) continue;
      const tflops = flops / (tm.median / 1e3) / 1e12;
      // policy-aware inference does about half the blocks' work for the same result: count the
      // reference's FLOPs for both, so the figure compares throughput of the same prediction
      record[name].tflops = tflops;
      if (cuda) {
        record[name].fractionOfBf16Peak = { datasheet: tflops / 989, measured: tflops / 790 };
      }
    }
  }
  for (const name of ['ours', 'theirs']) {
    const tm = record[name].time;
    if (tm && c.volumes) record[name].volumesPerSecond = c.volumes / (tm.median / 1e3);
  }
  attachTarget(record);
  record.wallSeconds = (performance.now() - t0) / 1e3;
  return record;
}

const memorySteps = Number(opt['memory-steps']);

async function runMemory(c) {
  // fresh processes, one side at a time: setup, then training steps; the high-water mark of RSS
  // after 2 steps and after --memory-steps (a training's steady state: memory that a step fails to
  // reuse shows up as growth between the two)
  const record = { name: c.name, case: 'memory', targetKey: 'memory', params: summariseParams(c.params) };
  const t0 = performance.now();
  for (const [name, spawnIt] of /** @type {const} */ ([
    ['ours', spawnOurs],
    ['theirs', spawnTheirs],
  ])) {
    const w = spawnIt();
    try {
      await w.send({ op: 'hello' });
      const before = await w.send({ op: 'peak' });
      await w.send({ op: 'setup', case: c.inner, params: c.params });
      const afterSetup = await w.send({ op: 'peak' });
      await w.send({ op: 'run' });
      await w.send({ op: 'run' });
      const early = await w.send({ op: 'peak' });
      for (let i = 2; i < memorySteps; i++) await w.send({ op: 'run' });
      const peak = await w.send({ op: 'peak' });
      record[name] = {
        startRssMb: before.vmrss_kb / 1024,
        afterSetupRssMb: afterSetup.vmrss_kb / 1024,
        peakRssAfter2StepsMb: early.vmhwm_kb / 1024,
        steps: Math.max(2, memorySteps),
        peakRssMb: peak.vmhwm_kb / 1024,
        ...(peak.cuda_peak_bytes !== undefined ? { cudaPeakMb: peak.cuda_peak_bytes / 2 ** 20 } : {}),
      };
    } catch (err) {
      record[name] = { error: err.message };
    } finally {
      await w.close();
    }
  }
  if (record.ours.peakRssMb && record.theirs.peakRssMb) record.ratio = record.ours.peakRssMb / record.theirs.peakRssMb;
  attachTarget(record);
  record.wallSeconds = (performance.now() - t0) / 1e3;
  return record;
}

function attachTarget(record) {
  const target = TARGETS[record.targetKey];
  if (!target || record.ratio === undefined) return;
  const met = target.kind === 'ratio' ? record.ratio <= target.value : 1 / record.ratio >= target.value;
  record.target = { ...target, met };
}

function summariseParams(p) {
  const { displacement: _d, files, ...rest } = p;
  return files ? { ...rest, files: files.map((f) => f.map((x) => x.replace(`${root}/`, ''))) } : rest;
}

function machine() {
  const cpu = cpus();
  let gpu = null;
  if (cuda) {
    const smi = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], { encoding: 'utf8' });
    gpu = smi.status === 0 ? smi.stdout.trim() : null;
  }
  return {
    hostname: hostname(),
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
    loadAverage: loadavg().map((x) => +x.toFixed(2)),
    gpu,
  };
}

function slug(s) {
  return s
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu|@.*$/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
}

/**
 * The areas' own benchmarks, run as they are (each alternates ours and the Python stack itself)
 * with their JSON folded into these results.
 */
function runAreaBenches() {
  const out = {};
  const dir = join(root, 'bench/out');
  mkdirSync(dir, { recursive: true });
  /** @type {[name: string, script: string, args: string[]][]} */
  const scripts = [
    ['preprocess', 'bench/preprocess.mjs', ['--python', opt.python]],
    ['augment', 'bench/augment.mjs', ['--threads', String(threads), ...(cuda ? ['--device', opt.device] : [])]],
  ];
  for (const [name, script, args] of scripts) {
    if (!existsSync(join(root, script))) continue;
    const file = join(dir, `area-${name}.json`);
    process.stderr.write(`  ${script} ... `);
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(root, script), ...args, '--out', file], {
      cwd: root,
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    process.stderr.write(`${((performance.now() - t) / 1e3).toFixed(0)} s\n`);
    if (r.status === 0 && existsSync(file)) out[name] = JSON.parse(readFileSync(file, 'utf8'));
    else out[name] = { error: `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output

const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`);
function cell(side) {
  if (side?.error) return 'error';
  if (side?.peakRssMb) return `${side.peakRssMb.toFixed(0)} MB`;
  const t = side?.time;
  if (!t) return '-';
  return `${fmtMs(t.median)} [${fmtMs(t.q1)}-${fmtMs(t.q3)}]`;
}

function table(records) {
  const rows = [['case', 'ours median [IQR]', 'reference median [IQR]', 'ours/ref', 'target', 'met']];
  for (const r of records) {
    const ratio = r.ratio === undefined ? '-' : r.ratio.toFixed(2);
    rows.push([r.name, cell(r.ours), cell(r.theirs), ratio, r.target?.text ?? '', r.target ? (r.target.met ? 'yes' : 'NO') : '']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) =>
    row
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const lines = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows.slice(1)) lines.push(line(row));
  const errors = records.flatMap((r) =>
    ['ours', 'theirs'].filter((s) => r[s]?.error).map((s) => `  ${r.name} [${s}]: ${r[s].error.split('\n')[0].slice(0, 200)}`),
  );
  if (errors.length) lines.push('', 'errors:', ...errors);
  if (cuda) {
    const tput = records.filter((r) => r.ours?.volumesPerSecond || r.theirs?.volumesPerSecond);
    lines.push('', 'throughput (volumes/s) and fraction of the bf16 peak (989 datasheet / 790 measured TFLOP/s):');
    for (const r of tput) {
      const side = (s) =>
        s?.volumesPerSecond
          ? `${s.volumesPerSecond.toFixed(1)} vol/s${s.tflops ? `, ${s.tflops.toFixed(1)} TFLOP/s (${(100 * s.fractionOfBf16Peak.datasheet).toFixed(1)}% / ${(100 * s.fractionOfBf16Peak.measured).toFixed(1)}%)` : ''}`
          : '-';
      lines.push(`  ${r.name}: ours ${side(r.ours)}; ref ${side(r.theirs)}`);
    }
  }
  return lines.join('\n');
}

function writeResults(result) {
  const date = result.date.slice(0, 10);
  const name =
    opt.machine ?? (cuda ? `gpu-${slug(result.machine.gpu ?? 'cuda')}` : `cpu${result.machine.cores}-${slug(result.machine.cpu)}`);
  const file = resolve(opt.out ?? join(root, 'bench/results', `${date}-${name}${quick ? '-quick' : ''}.json`));
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const cases = plan();
  if (cases.some((c) => c.case === 'preprocess')) {
    const n = cases.find((c) => c.case === 'preprocess').params.files.length;
    if (!existsSync(join(root, 'bench/out/volumes', `case${n - 1}_mask.nii.gz`))) {
      process.stderr.write('writing synthetic 240x240x155 volumes to bench/out/volumes...\n');
    }
    const made = spawnSync(opt.python, [join(root, 'bench/reference/make_volumes.py'), join(root, 'bench/out/volumes'), String(n)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (made.status !== 0) throw new Error('could not write the benchmark volumes');
  }
  workers();
  const versions = {};
  for (const [name, w] of [
    ['ours', ours],
    ['theirs', theirs],
  ]) {
    try {
      versions[name] = (await w.send({ op: 'hello' }, 120_000)).info;
    } catch (err) {
      versions[name] = { error: err.message };
    }
  }
  const result = {
    date: new Date().toISOString(),
    device: opt.device,
    threads,
    quick,
    machine: machine(),
    versions,
    cases: [],
  };
  process.stderr.write(
    `bench: ${cases.length} cases on ${opt.device}, ${threads} thread(s); ours ${JSON.stringify(versions.ours)}, reference ${JSON.stringify(versions.theirs)}\n`,
  );
  for (const c of cases) {
    const t = performance.now();
    process.stderr.write(`  ${c.name} ... `);
    const record = c.case === 'memory' ? await runMemory(c) : await runCase(c);
    result.cases.push(record);
    const status = [record.ours?.error ? 'ours failed' : '', record.theirs?.error ? 'reference failed' : ''].filter(Boolean).join(', ');
    process.stderr.write(
      `${((performance.now() - t) / 1e3).toFixed(0)} s${record.ratio !== undefined ? `, ours/ref ${record.ratio.toFixed(2)}` : ''}${status ? ` (${status})` : ''}\n`,
    );
    writeResults(result); // partial results survive an interrupted run
  }
  await Promise.all([ours?.close(), theirs?.close()]);
  if (opt['area-benches']) result.areaBenches = runAreaBenches();
  result.machine.loadAverageAfter = loadavg().map((x) => +x.toFixed(2));
  const file = writeResults(result);
  console.log(`\n${table(result.cases)}\n\nthreads: ${threads}; results: ${file.replace(`${root}/`, '')}`);
}

await main();
