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
import { formulaStateDict, makeInput } from '../fixtures/networks/formula.mjs';

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

// The fixtures' deterministic weights and inputs, shared with test/models/formula.ts.

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
  Math.max(
    relativeError(a.head, e.head),
    relativeError([a.absSum], [e.absSum]),
    Math.abs(a.sum - e.sum) / e.absSum,
    a.numel === e.numel ? 0 : Infinity,
  );

// --- bookkeeping
const results = [];
// As test/models/network.test.ts: a quantity is held to --tol unless PyTorch's own float32 result
// is farther than that from its float64 result (the fixture's `precision`), then to 4x that gap.
const within = (precision) => Math.max(tol, 4 * (precision ?? 0));
function record(group, what, err, limit = tol) {
  results.push({ group, what, relError: err, tolerance: limit, pass: err < limit });
}
// Where a gradient is that noisy the sign of Adam's first step can flip: compare its size only.
function recordUpdate(group, key, actual, expected, gradientPrecision, updatePrecision) {
  if (gradientPrecision < tol / 4)
    return record(group, `Adam update ${key}`, relativeError(actual.head, expected.head), within(updatePrecision));
  const size = (s) => Math.max(...s.head.map(Math.abs));
  record(group, `largest Adam update ${key}`, relativeError([size(actual)], [size(expected)]), within(updatePrecision));
}
const backward = (pr, key) => Math.max(pr.gradients?.[key] ?? 0, pr.gradientAbsSums?.[key] ?? 0);
function recordEqual(group, what, actual, expected) {
  const a = Array.from(actual);
  const same = a.length === expected.length && a.every((v, i) => v === expected[i]);
  results.push({ group, what, equal: same, pass: same, ...(same ? {} : { mismatches: a.filter((v, i) => v !== expected[i]).length }) });
}

/** Runs `step` (one training step) and returns its result with what it changed in `names`. */
async function updatesAfterStep(net, step, names) {
  const before = await net.stateDict();
  const result = await step();
  const after = await net.stateDict();
  return { result, updates: new Map(names.map((n) => [n, summarise(after.get(n).data.map((v, i) => v - before.get(n).data[i]))])) };
}

async function checkResNet(lib, name) {
  const fx = fixture(name);
  const net = await lib.createNetwork({ kind: 'resnet', depth: fx.depth, shortcutType: fx.shortcutType, device, ...TRAIN });
  try {
    await net.loadStateDict(formulaStateDict(net.stateInfo()));
    const x = makeInput(fx.shape);
    const { logits } = await net.predict(x, fx.shape);
    const pr = fx.precision ?? {};
    record(name, 'eval logits', relativeError(logits, fx.evalLogits), within(pr.evalLogits));
    const { result: step, updates } = await updatesAfterStep(
      net,
      () => net.trainStep(x, fx.shape, Float32Array.from(fx.labels), { seed: 0 }),
      Object.keys(fx.updates),
    );
    const forward = within(Math.max(pr.loss ?? 0, pr.probabilities ?? 0));
    record(name, 'loss', relativeError([step.loss], [fx.loss]), forward);
    record(name, 'train-mode probabilities', relativeError(step.probabilities, fx.probabilities), forward);
    const grads = await net.gradients(Object.keys(fx.gradients));
    for (const [key, expected] of Object.entries(fx.gradients))
      record(name, `gradient ${key}`, summaryError(summarise(grads.get(key).data), expected), within(backward(pr, key)));
    for (const [key, expected] of Object.entries(fx.updates))
      recordUpdate(name, key, updates.get(key), expected, backward(pr, key), pr.updates?.[key]);
    const state = await net.stateDict();
    for (const [key, expected] of Object.entries(fx.buffers))
      record(name, `buffer ${key}`, summaryError(summarise(state.get(key).data), expected), within(pr.buffers?.[key]));
  } finally {
    net.dispose();
  }
}

async function checkSpotTune(lib) {
  const name = 'spottune50';
  const fx = fixture(name);
  const net = await lib.createNetwork({ kind: 'spottune', depth: 50, device, ...TRAIN });
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
    const pr = fx.precision ?? {};
    const { result: step, updates } = await updatesAfterStep(
      net,
      () => net.trainStep(x, fx.shape, Float32Array.from(fx.labels), { seed: 0, tau: fx.tau, gumbelNoise: Float32Array.from(fx.noise) }),
      Object.keys(fx.updates),
    );
    recordEqual(name, 'train policy', step.policy, fx.trainPolicy);
    const forward = within(Math.max(pr.loss ?? 0, pr.probabilities ?? 0));
    record(name, 'loss', relativeError([step.loss], [fx.loss]), forward);
    record(name, 'train-mode probabilities', relativeError(step.probabilities, fx.probabilities), forward);
    const grads = await net.gradients();
    for (const [key, expected] of Object.entries(fx.gradients))
      record(name, `gradient ${key}`, summaryError(summarise(grads.get(key).data), expected), within(backward(pr, key)));
    for (const [key, expected] of Object.entries(fx.updates))
      recordUpdate(name, key, updates.get(key), expected, backward(pr, key), pr.updates?.[key]);
    const state = await net.stateDict();
    for (const [key, expected] of Object.entries(fx.buffers))
      record(name, `buffer ${key}`, summaryError(summarise(state.get(key).data), expected), within(pr.buffers?.[key]));
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
  const groups = /** @type {[group: string, run: () => Promise<void>][]} */ ([
    ['resnet10', () => checkResNet(lib, 'resnet10')],
    ['resnet18-shortcut-b', () => checkResNet(lib, 'resnet18-shortcut-b')],
    ['resnet50', () => checkResNet(lib, 'resnet50')],
    ['resnet50-shortcut-a', () => checkResNet(lib, 'resnet50-shortcut-a')],
    ['spottune50', () => checkSpotTune(lib)],
  ]).filter(([g]) => !opt.only || opt.only.split(',').includes(g));
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
        (bad.length
          ? `; FAILED: ${bad.map((r) => r.error ?? `${r.what}${r.relError !== undefined ? ` ${r.relError.toExponential(2)}` : ' (differs)'}`).join('; ')}`
          : ''),
    );
  }
  console.log(
    `cuda-checks on ${device}: ${results.length - report.failed}/${results.length} within their tolerance (--tol ${tol}, or 4x PyTorch's own float32 gap), max relative error ${report.maxRelError.toExponential(2)}, ${report.seconds.toFixed(0)} s`,
  );
  process.exitCode = report.failed ? 1 : 0;
}

function write(report) {
  if (!opt.out) return;
  const tmp = `${opt.out}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(tmp, opt.out);
}

await main();
