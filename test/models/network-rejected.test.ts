// Rejected means unchanged: every call that refuses (a training step with a NaN loss, a load of a
// state dict, an optimiser state, a schedule or a whole checkpoint with one bad part) leaves the
// network exactly as it was, bit for bit: parameters, BatchNorm running statistics and
// num_batches_tracked, Adam's state (steps and moments) and the schedule's counters and rates.
import { describe, expect, test } from 'vitest';
import { CheckpointError, TorchError } from '../../lib/native/errors.js';
import { createResNet3d, createSpotTune3d, MIN_GUMBEL_TAU, type Network } from '../../lib/models/network.js';
import type { HostTensor, StateDict } from '../../lib/types.js';
import { native } from '../../lib/native/binding.js';
import { requireNative } from '../helpers/native.js';
import { makeInput } from './formula.js';

requireNative();

const SHAPE = [2, 1, 16, 16, 16];
const x = makeInput(SHAPE);
const labels = new Float32Array([1, 0]);
const TAU = 5;

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Everything a call could change, as bytes and JSON. */
async function snapshot(net: Network): Promise<Map<string, Buffer | string>> {
  const out = new Map<string, Buffer | string>();
  for (const [k, v] of await net.stateDict()) out.set(`model ${k}`, bytes(v.data));
  for (const [k, v] of await net.optimizerState()) out.set(`adam ${k}`, bytes(v.data));
  out.set('scheduler', JSON.stringify(net.schedulerState()));
  return out;
}

function expectSame(after: Map<string, Buffer | string>, before: Map<string, Buffer | string>): void {
  expect([...after.keys()]).toEqual([...before.keys()]);
  const changed = [...before].filter(([k, v]) => {
    const w = after.get(k)!;
    return typeof v === 'string' ? v !== w : !(w as Buffer).equals(v);
  });
  expect(changed.map(([k]) => k)).toEqual([]);
}

/** A ResNet10 and a SpotTune3D-10 that have taken one step, so that Adam has state to lose. */
async function trained(kind: 'resnet' | 'spottune'): Promise<Network> {
  const net = kind === 'resnet' ? await createResNet3d({ depth: 10 }) : await createSpotTune3d({ depth: 10, agentDepth: 10 });
  await net.trainStep(x, SHAPE, labels, { seed: 1, tau: TAU });
  net.schedulerStep(0.5);
  return net;
}

async function expectUnchangedBy(net: Network, call: () => Promise<unknown>, check: (err: unknown) => void): Promise<void> {
  const before = await snapshot(net);
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have been refused').toBeDefined();
  check(err);
  expectSame(await snapshot(net), before);
}

const isCode = (code: string) => (err: unknown) => {
  expect(err).toBeInstanceOf(TorchError);
  expect((err as TorchError).code).toBe(code);
};
const isClass = (cls: new (...a: never[]) => Error, message?: RegExp) => (err: unknown) => {
  expect(err).toBeInstanceOf(cls);
  if (message) expect((err as Error).message).toMatch(message);
};

function clone(map: StateDict): StateDict {
  return new Map([...map].map(([k, v]) => [k, { ...v, shape: [...v.shape], data: v.data.slice() } as HostTensor]));
}

describe.each(['resnet', 'spottune'] as const)('a refused training step changes nothing (%s)', (kind) => {
  test('a NaN loss (NaN input) leaves parameters, running statistics, num_batches_tracked and Adam as they were', async () => {
    await using net = await trained(kind);
    const nan = x.slice();
    nan[7] = Number.NaN;
    await expectUnchangedBy(net, () => net.trainStep(nan, SHAPE, labels, { seed: 2, tau: TAU }), isCode('ERR_NONFINITE_LOSS'));
    // and the network still predicts numbers, then trains on as if the refused step never happened
    const { probabilities } = await net.predict(x, SHAPE, { seed: 3 });
    expect([...probabilities].every(Number.isFinite)).toBe(true);
  });

  test('an infinite input value likewise', async () => {
    await using net = await trained(kind);
    const huge = x.slice();
    huge[5] = Number.POSITIVE_INFINITY;
    await expectUnchangedBy(net, () => net.trainStep(huge, SHAPE, labels, { seed: 2, tau: TAU }), isCode('ERR_NONFINITE_LOSS'));
  });

  test('after a refused step the next steps equal those of a network that never saw it', async () => {
    await using a = await trained(kind);
    await using b = await trained(kind);
    const nan = x.slice();
    nan[0] = Number.NaN;
    await expect(b.trainStep(nan, SHAPE, labels, { seed: 2, tau: TAU })).rejects.toMatchObject({ code: 'ERR_NONFINITE_LOSS' });
    for (const seed of [4, 5]) {
      const [ra, rb] = [await a.trainStep(x, SHAPE, labels, { seed, tau: TAU }), await b.trainStep(x, SHAPE, labels, { seed, tau: TAU })];
      expect(rb.loss).toBe(ra.loss);
    }
    expectSame(await snapshot(b), await snapshot(a));
  });

  test('labels outside [0, 1] and a tau below MIN_GUMBEL_TAU are RangeErrors naming them', async () => {
    await using net = await trained(kind);
    for (const bad of [5, -3, 3e38, Number.NaN]) {
      await expectUnchangedBy(
        net,
        () => net.trainStep(x, SHAPE, new Float32Array([1, bad]), { seed: 2, tau: TAU }),
        isClass(RangeError, /labels in \[0, 1\].*labels\[1\]/),
      );
    }
    if (kind === 'spottune') {
      for (const tau of [Number.MIN_VALUE, MIN_GUMBEL_TAU / 2, 0, -1]) {
        await expectUnchangedBy(net, () => net.trainStep(x, SHAPE, labels, { seed: 2, tau }), isClass(RangeError, /options\.tau/));
      }
      // the smallest accepted tau trains (a finite loss)
      expect(Number.isFinite((await net.trainStep(x, SHAPE, labels, { seed: 2, tau: MIN_GUMBEL_TAU })).loss)).toBe(true);
    }
  });
});

describe('a refused state-dict load changes nothing', () => {
  test.each([true, false])(
    'a conv1.weight declared [64, 1, 7, 7, 7] over 3 values is a RangeError, not an inflated zero-filled stem (strict: %s)',
    async (strict) => {
      await using net = await createResNet3d({ depth: 10, inputChannels: 3 });
      const good = await net.stateDict();
      const sd = clone(good);
      sd.set('conv1.weight', { dtype: 'float32', shape: [64, 1, 7, 7, 7], data: new Float32Array(3) });
      await expectUnchangedBy(
        net,
        () => net.loadStateDict(sd, { strict }),
        isClass(RangeError, /conv1\.weight.*holds 21952 elements but data has 3/),
      );
    },
  );

  test.each<[string, (sd: StateDict) => void, new (...a: never[]) => Error]>([
    [
      'a tensor whose data does not fill its shape',
      (sd) => sd.set('fc.bias', { dtype: 'float32', shape: [2], data: new Float32Array(1) }),
      RangeError,
    ],
    [
      'an unexpected key whose data does not fill its shape',
      (sd) => sd.set('extra', { dtype: 'float32', shape: [4], data: new Float32Array(3) }),
      RangeError,
    ],
    ['a shape holding a non-integer', (sd) => sd.set('fc.bias', { dtype: 'float32', shape: [0.5], data: new Float32Array(1) }), TypeError],
    ['an entry that is no HostTensor', (sd) => sd.set('fc.bias', null as unknown as HostTensor), TypeError],
    [
      'float data for num_batches_tracked',
      (sd) => sd.set('bn1.num_batches_tracked', { dtype: 'float32', shape: [], data: new Float32Array(1) }),
      TypeError,
    ],
    [
      'another shape (strict)',
      (sd) => sd.set('fc.weight', { dtype: 'float32', shape: [1, 8], data: new Float32Array(8) }),
      CheckpointError,
    ],
    [
      'an unexpected key (strict)',
      (sd) => sd.set('fc.extra', { dtype: 'float32', shape: [1], data: new Float32Array(1) }),
      CheckpointError,
    ],
    ['a missing key (strict)', (sd) => sd.delete('fc.bias'), CheckpointError],
  ])('%s', async (_, spoil, cls) => {
    await using net = await createResNet3d({ depth: 10 });
    await net.trainStep(x, SHAPE, labels, { seed: 1, tau: TAU });
    const sd = clone(await net.stateDict());
    for (const v of sd.values()) if (v.data instanceof Float32Array) v.data.fill(0.25); // would visibly change the network
    spoil(sd);
    await expectUnchangedBy(net, () => net.loadStateDict(sd), isClass(cls));
  });
});

describe('a refused optimiser load changes nothing', () => {
  /** The network's own Adam state with every moment replaced, so that a partial load would show. */
  async function spoilt(net: Network, spoil: (adam: StateDict) => void): Promise<StateDict> {
    const adam = clone(await net.optimizerState());
    for (const [k, v] of adam) {
      if (k.includes('.step.')) v.data = new BigInt64Array([7n]);
      else (v.data as Float32Array).fill(0.5);
    }
    spoil(adam);
    return adam;
  }

  test.each<[string, (adam: StateDict) => void, new (...a: never[]) => Error, RegExp]>([
    [
      'a 0-element main.step',
      (a) => a.set('main.step.fc.weight', { dtype: 'int64', shape: [0], data: new BigInt64Array(0) }),
      RangeError,
      /main\.step\.fc\.weight.*one non-negative integer/,
    ],
    [
      'a negative step',
      (a) => a.set('main.step.fc.bias', { dtype: 'int64', shape: [], data: new BigInt64Array([-1n]) }),
      RangeError,
      /non-negative/,
    ],
    [
      'a fractional step',
      (a) => a.set('main.step.fc.bias', { dtype: 'float32', shape: [], data: new Float32Array([1.5]) }),
      RangeError,
      /non-negative integer/,
    ],
    [
      'an agent.exp_avg of another shape (checked before main changes)',
      (a) => a.set('agent.exp_avg.agent.fc.weight', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }),
      RangeError,
      /agent\.exp_avg\.agent\.fc\.weight.*\[2, 2\]/,
    ],
    [
      'integer moments',
      (a) => a.set('main.exp_avg_sq.fc.bias', { dtype: 'int32', shape: [1], data: new Int32Array(1) }),
      TypeError,
      /floating-point/,
    ],
    [
      'data that does not fill its shape',
      (a) => a.set('main.exp_avg.fc.bias', { dtype: 'float32', shape: [1], data: new Float32Array(2) }),
      RangeError,
      /holds 1 elements but data has 2/,
    ],
    ['an incomplete triple', (a) => a.delete('main.exp_avg_sq.fc.bias'), CheckpointError, /lacks "main\.exp_avg_sq\.fc\.bias"/],
    [
      'a frozen parameter',
      (a) => a.set('main.step.conv1.weight', { dtype: 'int64', shape: [], data: new BigInt64Array([1n]) }),
      CheckpointError,
      /names no trainable parameter/,
    ],
    [
      'an agent parameter under main.',
      (a) => a.set('main.step.agent.fc.bias', { dtype: 'int64', shape: [], data: new BigInt64Array([1n]) }),
      CheckpointError,
      /names no trainable parameter/,
    ],
    [
      'a key outside the layout',
      (a) => a.set('main.momentum.fc.bias', { dtype: 'float32', shape: [1], data: new Float32Array(1) }),
      CheckpointError,
      /Unexpected optimizer state key/,
    ],
  ])('%s', async (_, spoil, cls, message) => {
    await using net = await trained('spottune');
    const adam = await spoilt(net, spoil);
    await expectUnchangedBy(net, () => net.loadOptimizerState(adam), isClass(cls, message));
    expect((await net.optimizerState()).get('main.step.fc.weight')!.data).toEqual(new BigInt64Array([1n]));
  });

  test('the unspoilt state loads (the spoiling, not the loading, was refused)', async () => {
    await using net = await trained('spottune');
    await net.loadOptimizerState(await spoilt(net, () => {}));
    expect((await net.optimizerState()).get('main.step.fc.weight')!.data).toEqual(new BigInt64Array([7n]));
  });

  test('C++ checks the same, both optimisers before either changes (the raw binding, past TS)', async () => {
    // A raw network: lib/models/network.ts would refuse these first.
    const b = native();
    const net = new b.NativeNetwork();
    await net.init({
      kind: 'spottune',
      architecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
      agentArchitecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
      inputChannels: 1,
      numClasses: 1,
      dropout: 0,
      trainableBlocks: -1,
      frozenBatchNormUpdatesStats: false,
      device: 'cpu',
      mixedPrecision: 'none',
      channelsLast: false,
      learningRate: 1e-3,
      agentLearningRate: 1e-3,
      weightDecay: 0,
      agentWeightDecay: 0,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      posWeight: null,
      scheduler: { mode: 'max', factor: 0.1, patience: 1, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8 },
      seed: 1,
    });
    try {
      await net.trainStep(x, SHAPE, labels, { seed: 1, tau: TAU, noise: null });
      const before = await net.optimizerState();
      const step = before.find((e) => e.name === 'main.step.fc.weight')!;
      expect(step.data).toEqual(new BigInt64Array([1n]));
      const cases: Record<string, (e: { name: string; shape: number[]; data: ArrayBufferView }[]) => void> = {
        badAgentShape: (e) => {
          const i = e.findIndex((v) => v.name === 'agent.exp_avg.agent.fc.weight');
          e[i] = { name: e[i].name, shape: [4], data: new Float32Array(4) };
        },
        zeroElementStep: (e) => {
          const i = e.findIndex((v) => v.name === 'main.step.fc.weight');
          e[i] = { name: e[i].name, shape: [0], data: new BigInt64Array(0) };
        },
        incomplete: (e) =>
          e.splice(
            e.findIndex((v) => v.name === 'agent.exp_avg_sq.agent.fc.bias'),
            1,
          ),
        unknownParameter: (e) => e.push({ name: 'main.step.conv1.weight', shape: [], data: new BigInt64Array([1n]) }),
      };
      for (const [name, spoil] of Object.entries(cases)) {
        const entries = before.map((e) => ({
          name: e.name,
          shape: e.shape,
          data: e.name.includes('.step.') ? new BigInt64Array([9n]) : (e.data as Float32Array).map(() => 0.5),
        }));
        spoil(entries);
        const err = await net.loadOptimizerState(entries as never).catch((e: unknown) => e);
        expect(err, name).toMatchObject({ code: 'ERR_NATIVE' }); // a std::invalid_argument, the std::exception path
        const after = await net.optimizerState();
        expect(
          after.map((e) => e.name),
          name,
        ).toEqual(before.map((e) => e.name));
        for (let i = 0; i < after.length; i++)
          expect(bytes(after[i].data).equals(bytes(before[i].data)), `${name}: ${after[i].name}`).toBe(true);
      }
    } finally {
      net.dispose();
    }
  });
});

describe('a refused schedule load changes nothing', () => {
  test.each<[string, Record<string, unknown>, new (...a: never[]) => Error]>([
    ['a string count', { numBadEpochs: '1' }, TypeError],
    ['a negative cooldown', { cooldownCounter: -1 }, RangeError],
    ['one rate for two optimisers', { learningRates: [1e-3] }, RangeError],
    ['a NaN rate (the last field checked)', { learningRates: [1e-3, Number.NaN] }, TypeError],
    ['a fractional lastEpoch', { lastEpoch: 1.5 }, TypeError],
  ])('%s', async (_, change, cls) => {
    await using net = await trained('spottune');
    const state = { ...net.schedulerState(), best: 0.9, numBadEpochs: 3, ...change };
    await expectUnchangedBy(net, async () => net.loadSchedulerState(state as never), isClass(cls));
  });
});

describe('a refused checkpoint load (loadTrainingState) changes nothing', () => {
  test.each<
    [string, (c: { model: StateDict; optimizer: StateDict; scheduler: Record<string, unknown> }) => void, new (...a: never[]) => Error]
  >([
    [
      'a bad optimiser part after a good model',
      (c) => c.optimizer.set('agent.exp_avg.agent.fc.weight', { dtype: 'float32', shape: [3], data: new Float32Array(3) }),
      RangeError,
    ],
    ['a bad schedule after a good model and optimiser', (c) => (c.scheduler.numBadEpochs = -2), RangeError],
    ['a bad model', (c) => c.model.delete('fc.weight'), CheckpointError],
  ])('%s', async (_, spoil, cls) => {
    await using source = await trained('spottune');
    await source.trainStep(x, SHAPE, labels, { seed: 9, tau: TAU });
    const ckpt = {
      model: await source.stateDict(),
      optimizer: await source.optimizerState(),
      scheduler: { ...source.schedulerState() } as Record<string, unknown>,
    };
    await using net = await trained('spottune');
    spoil(ckpt);
    await expectUnchangedBy(net, () => net.loadTrainingState(ckpt as never), isClass(cls));
  });

  test('a whole checkpoint loads all three parts', async () => {
    await using source = await trained('spottune');
    await source.trainStep(x, SHAPE, labels, { seed: 9, tau: TAU });
    source.schedulerStep(0.1);
    await using net = await trained('spottune');
    await net.loadTrainingState({
      model: await source.stateDict(),
      optimizer: await source.optimizerState(),
      scheduler: source.schedulerState(),
    });
    expectSame(await snapshot(net), await snapshot(source));
  });
});
