#!/usr/bin/env node
// CUDA parity checks for the GPU run (scripts/gpu/device-run.sh): the networks' PyTorch fixtures
// (test/fixtures/networks/*.json, made by scripts/fixtures/networks/make_fixtures.py on the CPU) run
// through the library on a device, the same way test/models/network.test.ts runs them on the CPU,
// reporting the largest relative error of every compared quantity. A plain Node script: vitest does
// not travel to the GPU machine.
//
//   node scripts/gpu/cuda-checks.mjs [--device cuda] [--tol 1e-4] [--out checks.json]
//
// Run with NVIDIA_TF32_OVERRIDE=0 (device-run.sh does) so that cuDNN and cuBLAS compute float32 in
// float32: LibTorch lets cuDNN use TF32 by default, which alone gives relative errors near 1e-3.
// Exit status: 0 when every check is within --tol, 1 otherwise, 2 when the checks could not run.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: opt } = parseArgs({
  options: {
    device: { type: 'string', default: 'cuda' },
    tol: { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
const device = opt.device;
const tol = Number(opt.tol ?? 1e-4);
const fixture = (name) => JSON.parse(readFileSync(join(root, 'test/fixtures/networks', `${name}.json`), 'utf8'));
// The fixtures' optimiser (make_fixtures.py TRAIN): rates large enough that one Adam step shows.
const TRAIN = { learningRate: 1e-3, agentLearningRate: 1e-2, weightDecay: 1e-2, agentWeightDecay: 1e-2 };

// --- the fixtures' deterministic weights and inputs (test/models/formula.ts, the same arithmetic)
function nameSeed(name) {
  let s = 0;
  for (let i = 0; i < name.length; i++) s = (s * 31 + name.charCodeAt(i)) % 100003;
  return s;
}
function hashUniform(seed, n) {
  const out = new Float64Array(n);
  const base = (seed * 7919) >>> 0;
  for (let i = 0; i < n; i++) {
    let x = (i + base) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x ^= x >>> 16;
    out[i] = x / 2147483648 - 1;
  }
  return out;
}
function formula(name, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  if (leaf === 'num_batches_tracked') return { dtype: 'int64', shape: [...shape], data: new BigInt64Array(n) };
  const v = hashUniform(nameSeed(name), n);
  const out = new Float32Array(n);
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const convScale = Math.sqrt(3.0 / fanIn);
  for (let i = 0; i < n; i++) {
    if (leaf === 'weight' && shape.length >= 2) out[i] = v[i] * convScale;
    else if (leaf === 'weight') out[i] = 0.6 + 0.1 * v[i];
    else if (leaf === 'bias' || leaf === 'running_mean') out[i] = 0.05 * v[i];
    else if (leaf === 'running_var') out[i] = 1.0 + 0.25 * (1.0 + v[i]);
    else throw new Error(`no formula for ${name}`);
  }
  return { dtype: 'float32', shape: [...shape], data: out };
}
const formulaStateDict = (info) => new Map(info.map((e) => [e.name, formula(e.name, e.shape)]));
const makeInput = (shape) => Float32Array.from(hashUniform(12345, shape.reduce((a, b) => a * b, 1)));

function relativeError(actual, expected) {
  if (actual.length !== expected.length) return Infinity;
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    const d = Math.abs(actual[i] - expected[i]);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return scale === 0 ? err : err / scale;
}
function summarise(data) {
  let sum = 0;
  let absSum = 0;
  for (let i = 0; i < data.length; i++) {
    sum += data[i];
    absSum += Math.abs(data[i]);
  }
  return { head: Array.from(data.slice(0, 16)), sum, absSum, numel: data.length };
}
const summaryError = (a, e) =>
  Math.max(relativeError(a.head, e.head), relativeError([a.absSum], [e.absSum]), Math.abs(a.sum - e.sum) / e.absSum, a.numel === e.numel ? 0 : Infinity);

// --- bookkeeping
const results = [];
function record(group, what, err) {
  results.push({ group, what, relError: err, pass: err < tol });
}
function recordEqual(group, what, actual, expected) {
  const a = Array.from(actual);
  const same = a.length === expected.length && a.every((v, i) => v === expected[i]);
  results.push({ group, what, equal: same, pass: same, ...(same ? {} : { mismatches: a.filter((v, i) => v !== expected[i]).length }) });
}

async function updatesAfterStep(net, run, names) {
  const before = await net.stateDict();
  await run();
  const after = await net.stateDict();
  return new Map(names.map((n) => [n, summarise(after.get(n).data.map((v, i) => v - before.get(n).data[i]))]));
}

async function checkResNet(lib, name) {
  const fx = fixture(name);
  const net = await lib.createNetwork({ kind: 'resnet', depth: fx.depth, shortcutType: fx.shortcutType, device, ...TRAIN });
  try {
    await net.loadStateDict(formulaStateDict(net.stateInfo()));
    const x = makeInput(fx.shape);
    const { logits } = await net.predict(x, fx.shape);
    record(name, 'eval logits', relativeError(logits, fx.evalLogits));
    let step;
    const updates = await updatesAfterStep(net, async () => {
      step = await net.trainStep(x, fx.shape, Float32Array.from(fx.labels), { seed: 0 });
    }, Object.keys(fx.updates));
    record(name, 'loss', relativeError([step.loss], [fx.loss]));
    record(name, 'train-mode probabilities', relativeError(step.probabilities, fx.probabilities));
    const grads = await net.gradients(Object.keys(fx.gradients));
    for (const [key, expected] of Object.entries(fx.gradients)) record(name, `gradient ${key}`, summaryError(summarise(grads.get(key).data), expected));
    for (const [key, expected] of Object.entries(fx.updates)) record(name, `Adam update ${key}`, relativeError(updates.get(key).head, expected.head));
    const state = await net.stateDict();
    for (const [key, expected] of Object.entries(fx.buffers)) record(name, `buffer ${key}`, summaryError(summarise(state.get(key).data), expected));
  } finally {
    net.dispose();
  }
}

async function checkSpotTune(lib) {
  const name = 'spottune50';
  const fx = fixture(name);
  const net = await lib.createNetwork({ kind: 'spottune', depth: 50, gumbelTau: fx.tau, device, ...TRAIN });
  try {
    await net.loadStateDict(formulaStateDict(net.stateInfo()));
    const x = makeInput(fx.shape);
    const n = fx.shape[0];
    const rows = (flat) => Array.from({ length: n }, (_, i) => flat.slice(i * 16, (i + 1) * 16));
    for (const routing of ['select', 'both']) {
      const p = await net.predict(x, fx.shape, { policy: rows(fx.fixedPolicy), routing });
      record(name, `fixed-policy logits (routing ${routing})`, relativeError(p.logits, fx.fixedLogits));
    }
    const a = await net.predict(x, fx.shape, { policy: 'argmax' });
    record(name, 'agent logits', relativeError(a.agentLogits, fx.agentLogits));
    recordEqual(name, 'argmax policy', a.policy, fx.argmaxPolicy);
    record(name, 'argmax-policy logits', relativeError(a.logits, fx.argmaxLogits));
    const s = await net.predict(x, fx.shape, { policy: 'sample', gumbelNoise: Float32Array.from(fx.noise) });
    recordEqual(name, 'sampled policy (given noise)', s.policy, fx.sampledPolicy);
    record(name, 'sampled-policy logits', relativeError(s.logits, fx.sampledLogits));
    for (const seed of [1, 2]) {
      const sel = await net.predict(x, fx.shape, { seed });
      const both = await net.predict(x, fx.shape, { seed, routing: 'both' });
      record(name, `policy-aware = two-copy logits (seed ${seed})`, relativeError(sel.logits, both.logits));
    }
    let step;
    const updates = await updatesAfterStep(net, async () => {
      step = await net.trainStep(x, fx.shape, Float32Array.from(fx.labels), { seed: 0, tau: fx.tau, gumbelNoise: Float32Array.from(fx.noise) });
    }, Object.keys(fx.updates));
    recordEqual(name, 'train policy', step.policy, fx.trainPolicy);
    record(name, 'loss', relativeError([step.loss], [fx.loss]));
    record(name, 'train-mode probabilities', relativeError(step.probabilities, fx.probabilities));
    const grads = await net.gradients();
    for (const [key, expected] of Object.entries(fx.gradients)) record(name, `gradient ${key}`, summaryError(summarise(grads.get(key).data), expected));
    for (const [key, expected] of Object.entries(fx.updates)) record(name, `Adam update ${key}`, relativeError(updates.get(key).head, expected.head));
    const state = await net.stateDict();
    for (const [key, expected] of Object.entries(fx.buffers)) record(name, `buffer ${key}`, summaryError(summarise(state.get(key).data), expected));
  } finally {
    net.dispose();
  }
}

async function main() {
  const t0 = performance.now();
  let lib;
  const report = { device, tol, tf32Override: process.env.NVIDIA_TF32_OVERRIDE ?? null, date: new Date().toISOString() };
  try {
    lib = await import(join(root, 'dist', 'lib', 'index.js'));
    report.runtime = lib.runtime();
  } catch (err) {
    report.error = String(err?.stack ?? err);
    write(report);
    console.error(`cuda-checks: could not load the library: ${err?.message ?? err}`);
    process.exit(2);
  }
  const groups = [
    ['resnet10', () => checkResNet(lib, 'resnet10')],
    ['resnet18-shortcut-b', () => checkResNet(lib, 'resnet18-shortcut-b')],
    ['resnet50', () => checkResNet(lib, 'resnet50')],
    ['resnet50-shortcut-a', () => checkResNet(lib, 'resnet50-shortcut-a')],
    ['spottune50', () => checkSpotTune(lib)],
  ].filter(([g]) => !opt.only || opt.only.split(',').includes(g));
  for (const [group, run] of groups) {
    try {
      await run();
    } catch (err) {
      results.push({ group, what: 'run', pass: false, error: String(err?.message ?? err).split('\n')[0] });
    }
  }
  report.seconds = (performance.now() - t0) / 1e3;
  report.results = results;
  report.maxRelError = Math.max(0, ...results.filter((r) => Number.isFinite(r.relError)).map((r) => r.relError));
  report.failed = results.filter((r) => !r.pass).length;
  write(report);
  for (const [group] of groups) {
    const rs = results.filter((r) => r.group === group);
    const worst = rs.filter((r) => r.relError !== undefined).sort((a, b) => b.relError - a.relError)[0];
    const bad = rs.filter((r) => !r.pass);
    console.log(
      `${group.padEnd(20)} ${String(rs.length).padStart(3)} checks, max rel err ${worst ? worst.relError.toExponential(2) : '-'} (${worst?.what ?? ''})` +
        (bad.length ? `; FAILED: ${bad.map((r) => r.error ?? `${r.what}${r.relError !== undefined ? ` ${r.relError.toExponential(2)}` : ' (differs)'}`).join('; ')}` : ''),
    );
  }
  console.log(`cuda-checks on ${device}: ${results.length - report.failed}/${results.length} within ${tol}, max relative error ${report.maxRelError.toExponential(2)}, ${report.seconds.toFixed(0)} s`);
  process.exitCode = report.failed ? 1 : 0;
}

function write(report) {
  if (!opt.out) return;
  const tmp = `${opt.out}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, opt.out);
}

await main();
