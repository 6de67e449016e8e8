// Garbage into every method of a live network, through the API (Network) and past it (the raw
// NativeNetwork), in a child process: the child must end normally, every refusal must be a
// TypeError or RangeError, or an error carrying a stable ERR_* code (TorchError, CheckpointError;
// the raw binding's coded Errors), never a crash or an uncoded Error, and the network must still
// predict afterwards.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const lib = fileURLToPath(new URL('../../dist/lib/index.js', import.meta.url));
const binding = fileURLToPath(new URL('../../dist/lib/native/binding.js', import.meta.url));

interface Outcome {
  calls: number;
  refused: number;
  uncoded: string[];
  stillPredicts: boolean[];
  rawCalls: number;
  rawUncoded: string[];
  rawStillPredicts: boolean;
}

test('every network method refuses garbage with a TypeError, RangeError or coded error, and the network survives', () => {
  const script = `
    const { createResNet3d, createSpotTune3d, TorchError, CheckpointError } = await import(${JSON.stringify(lib)});
    const { native } = await import(${JSON.stringify(binding)});
    const shape = [1, 1, 8, 8, 8];
    const input = new Float32Array(512).map((_, i) => Math.sin(i));
    const shared = new Float32Array(new SharedArrayBuffer(8));
    const garbage = [undefined, null, 0, -1, 1.5, NaN, Infinity, 'x', 'cuda:99', {}, [], [-1], [1e20], [1, 'a'],
      [2 ** 53, 1], new Float32Array(3), new Uint16Array(2), shared, () => 1, Symbol('s'), 10n, [1n, 2n],
      new Map([['fc.bias', null]]), new Map([['fc.bias', { dtype: 'float32', shape: [1n], data: new Float32Array(1) }]]),
      new Map([['main.step.fc.bias', { dtype: 'int64', shape: [0], data: new BigInt64Array(0) }]]),
      { seed: 1, tau: NaN }, { seed: -1 }, { policy: [[2]] }, { policy: 'sample', gumbelNoise: new Float32Array(1) },
      { best: 'x', learningRates: [NaN] }, { model: null }, { strict: 'yes' }];
    const coded = (e) => e instanceof TypeError || e instanceof RangeError ||
      ((e instanceof TorchError || e instanceof CheckpointError) && /^ERR_[A-Z_]+$/.test(e.code));
    const describe = (e) => (e && e.constructor && e.constructor.name) + ': ' + String(e && e.message).slice(0, 120);
    let calls = 0, refused = 0;
    const uncoded = [];
    const attempt = async (name, fn) => {
      calls++;
      try { await fn(); }
      catch (e) { refused++; if (!coded(e)) uncoded.push(name + ' -> ' + describe(e)); }
    };
    const nets = [await createResNet3d({ depth: 10 }), await createSpotTune3d({ depth: 10, agentDepth: 10 })];
    const stillPredicts = [];
    for (const net of nets) {
      const labels = new Float32Array([1]);
      const methods = {
        predict: (a, b) => net.predict(a, b), predictShape: (a, b) => net.predict(input, a, b), predictOptions: (a) => net.predict(input, shape, a),
        trainStep: (a, b) => net.trainStep(a, shape, b, { seed: 1, tau: 1 }), trainLabels: (a, b) => net.trainStep(input, shape, a, b),
        trainOptions: (a) => net.trainStep(input, shape, labels, a),
        schedulerStep: (a) => net.schedulerStep(a), loadSchedulerState: (a) => net.loadSchedulerState(a),
        loadStateDict: (a, b) => net.loadStateDict(a, b), loadOptimizerState: (a) => net.loadOptimizerState(a),
        loadTrainingState: (a, b) => net.loadTrainingState(a, b), gradients: (a) => net.gradients(a),
        to: (a) => net.to(a), parameterCount: (a) => net.parameterCount(a),
      };
      for (const [name, fn] of Object.entries(methods)) {
        for (const a of garbage) for (const b of garbage.slice(0, 12)) await attempt(name, () => fn(a, b));
      }
      // a busy network refuses every other call with ERR_BUSY
      const running = net.predict(input, shape);
      for (const [name, fn] of Object.entries(methods)) await attempt(name + ' while busy', () => fn(input, shape));
      await running;
      stillPredicts.push(Number.isFinite((await net.predict(input, shape)).probabilities[0]));
      net.dispose();
      for (const [name, fn] of Object.entries(methods)) await attempt(name + ' after dispose', () => fn(input, shape));
    }

    // The raw binding, past every TS check: every refusal is an Error with an ERR_* code.
    const b = native();
    const raw = new b.NativeNetwork();
    await raw.init({
      kind: 'resnet', architecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
      agentArchitecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
      inputChannels: 1, numClasses: 1, dropout: 0, trainableBlocks: -1, frozenBatchNormUpdatesStats: true,
      device: 'cpu', mixedPrecision: 'none', channelsLast: false, learningRate: 1e-3, agentLearningRate: 1e-3,
      weightDecay: 0, agentWeightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, posWeight: null,
      scheduler: { mode: 'max', factor: 0.1, patience: 1, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 },
      seed: 1,
    });
    let rawCalls = 0;
    const rawUncoded = [];
    const rawMethods = ['predict', 'trainStep', 'schedulerStep', 'loadSchedulerState', 'loadState', 'loadOptimizerState', 'to', 'init'];
    for (const m of rawMethods) {
      for (const a of garbage) for (const c of garbage.slice(0, 10)) {
        rawCalls++;
        try { await raw[m](a, c, a, c); }
        catch (e) { if (!(e instanceof Error) || !/^ERR_[A-Z_]+$/.test(String(e.code))) rawUncoded.push(m + ' -> ' + describe(e)); }
      }
    }
    const opts = { policyMode: 'none', policy: null, noise: null, seed: 0, routing: 'select' };
    const rawStillPredicts = Number.isFinite((await raw.predict(input, shape, opts)).probabilities[0]);
    raw.dispose();
    console.log(JSON.stringify({ calls, refused, uncoded, stillPredicts, rawCalls, rawUncoded, rawStillPredicts }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 540_000 });
  expect(run.signal).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Outcome;
  expect(out.uncoded).toEqual([]);
  expect(out.rawUncoded).toEqual([]);
  expect(out.stillPredicts).toEqual([true, true]);
  expect(out.rawStillPredicts).toBe(true);
  expect(out.calls).toBeGreaterThan(10_000);
  expect(out.refused).toBeGreaterThan(9_000); // the garbage was refused, not quietly accepted
  expect(out.rawCalls).toBeGreaterThan(2_500);
}, 600_000);
