// The native surface as lib/native/binding.ts declares it, and how C++ reads it: every field of
// every option object is required, and a missing or mistyped one is a coded Error naming it, never
// a crash. The raw calls run in a child process with a time bound, so that a crash would fail the
// test instead of taking vitest with it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { native } from '../../lib/native/binding.js';

/** The addon's functions (not classes) and NativeNetwork's methods: the entry points TS declares. */
const FUNCTIONS = [
  'augmentElastic',
  'augmentFlip',
  'augmentNoise',
  'augmentRotate',
  'conv3d',
  'exitIfBusy',
  'manualSeed',
  'runtime',
  'setNumThreads',
];
const NETWORK_METHODS = [
  'device',
  'dispose',
  'gradients',
  'init',
  'loadOptimizerState',
  'loadSchedulerState',
  'loadState',
  'optimizerState',
  'predict',
  'schedulerState',
  'schedulerStep',
  'stateDict',
  'stateInfo',
  'to',
  'trainStep',
];

describe('the native surface', () => {
  test('the addon exports what binding.ts declares: 9 functions, NativeTensor and NativeNetwork (15 methods)', () => {
    const exports = Object.entries(native());
    const functions = exports
      .filter(([k, v]) => typeof v === 'function' && !/^Native/.test(k))
      .map(([k]) => k)
      .sort();
    expect(functions).toEqual(FUNCTIONS);
    expect(
      exports
        .map(([k]) => k)
        .filter((k) => /^Native/.test(k))
        .sort(),
    ).toEqual(['NativeNetwork', 'NativeTensor']);
    const proto = native().NativeNetwork.prototype as object;
    const methods = Object.getOwnPropertyNames(proto)
      .filter((k) => k !== 'constructor')
      .sort();
    expect(methods).toEqual(NETWORK_METHODS);
  });
});

const addon = fileURLToPath(new URL('../../dist/lib/native/binding.js', import.meta.url));

/** Runs `body` (an async function body with `b`, the raw binding) in a child; returns what it printed as JSON. */
function child(body: string): unknown {
  const script = `
    const { native } = await import(${JSON.stringify(addon)});
    const b = native();
    const seen = async (fn) => {
      try { await fn(); return { ok: true }; }
      catch (e) { return { name: e?.constructor?.name, code: e?.code, message: e?.message }; }
    };
    ${body}
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(run.signal).toBeNull();
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

describe('C++ reads required fields only (raw binding, child process)', () => {
  test('a missing field is ERR_INVALID_ARG_VALUE and a mistyped one ERR_INVALID_ARG_TYPE, each naming the field', () => {
    const out = child(`
      const x = b.NativeTensor.fromArray(new Float32Array(27), [1, 1, 3, 3, 3], null);
      const w = b.NativeTensor.fromArray(new Float32Array(27), [1, 1, 3, 3, 3], null);
      const v = b.NativeTensor.fromArray(new Float32Array(8), [2, 2, 2], null);
      const net = new b.NativeNetwork();
      const results = {
        convMissing: await seen(() => b.conv3d(x, w, null, { stride: 1, dilation: 1 })),
        convMistyped: await seen(() => b.conv3d(x, w, null, { stride: 1, padding: '1', dilation: 1 })),
        convNoOptions: await seen(() => b.conv3d(x, w, null)),
        noiseMissing: await seen(() => b.augmentNoise(v, { seed: 1, mean: 0, std: 1 })),
        rotateMistyped: await seen(() => b.augmentRotate(v, null, { angleDeg: 'ten', axes: [1, 2], order: 1, mode: 'constant' })),
        initMissing: await seen(() => net.init({ kind: 'resnet' })),
        fromArrayMissingDtype: await seen(() => b.NativeTensor.fromArray(new Float32Array(2), [2])),
        seedMistyped: await seen(() => b.manualSeed('1')),
      };
      console.log(JSON.stringify(results));
    `) as Record<string, { name: string; code: string; message: string }>;
    expect(out.convMissing).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/conv3d options\.padding is required/),
    });
    expect(out.convMistyped).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/conv3d options\.padding must be an integer but is a string/),
    });
    expect(out.convNoOptions).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/conv3d options is required/),
    });
    expect(out.noiseMissing).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/augmentNoise options\.clip/) });
    expect(out.rotateMistyped).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/augmentRotate options\.angleDeg must be a number/),
    });
    expect(out.initMissing).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/network config\.architecture is required/),
    });
    expect(out.fromArrayMissingDtype).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/dtype is required/) });
    expect(out.seedMistyped).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/seed must be an integer/) });
  });

  test('a network call with a missing or mistyped per-call field names it; the network stays usable', () => {
    const out = child(`
      const config = {
        kind: 'resnet', architecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
        agentArchitecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
        inputChannels: 1, numClasses: 1, dropout: 0, trainableBlocks: -1, frozenBatchNormUpdatesStats: true,
        device: 'cpu', mixedPrecision: 'none', channelsLast: false, learningRate: 1e-3, agentLearningRate: 1e-3,
        weightDecay: 0, agentWeightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, posWeight: null,
        scheduler: { mode: 'max', factor: 0.1, patience: 1, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 },
        seed: 1,
      };
      const net = new b.NativeNetwork();
      const badSeed = await seen(() => new b.NativeNetwork().init({ ...config, seed: 1.5 }));
      const noPosWeight = await seen(() => { const { posWeight, ...rest } = config; return new b.NativeNetwork().init(rest); });
      const badLayers = await seen(() => new b.NativeNetwork().init({ ...config, architecture: { ...config.architecture, layers: [1, 1] } }));
      await net.init(config);
      const x = new Float32Array(8 * 8 * 8), shape = [1, 1, 8, 8, 8];
      const results = {
        badSeed, noPosWeight, badLayers,
        predictMissing: await seen(() => net.predict(x, shape, { policyMode: 'none', policy: null, seed: 0, routing: 'select' })),
        predictMistyped: await seen(() => net.predict(x, shape, { policyMode: 'none', policy: null, noise: [], seed: 0, routing: 'select' })),
        trainMissing: await seen(() => net.trainStep(x, shape, new Float32Array(1), { seed: 0, noise: null })),
        stateMistyped: await seen(() => net.loadSchedulerState({ best: 0, numBadEpochs: '0', cooldownCounter: 0, lastEpoch: 0, learningRates: [1] })),
        works: await seen(() => net.predict(x, shape, { policyMode: 'none', policy: null, noise: null, seed: 0, routing: 'select' })),
      };
      net.dispose();
      results.afterDispose = await seen(() => net.predict(x, shape, { policyMode: 'none', policy: null, noise: null, seed: 0, routing: 'select' }));
      console.log(JSON.stringify(results));
    `) as Record<string, { ok?: boolean; code: string; message: string }>;
    expect(out.badSeed).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/network config\.seed must be a safe integer/),
    });
    expect(out.noPosWeight).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/network config\.posWeight is required/),
    });
    expect(out.badLayers).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/architecture\.layers must have 4 entries/),
    });
    expect(out.predictMissing).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/predict options\.noise is required/),
    });
    expect(out.predictMistyped).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/predict options\.noise must be a TypedArray or null but is an array/),
    });
    expect(out.trainMissing).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/trainStep options\.tau is required/),
    });
    expect(out.stateMistyped).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/scheduler state\.numBadEpochs/),
    });
    expect(out.works).toEqual({ ok: true });
    expect(out.afterDispose).toMatchObject({ code: 'ERR_DISPOSED' });
  });
});
