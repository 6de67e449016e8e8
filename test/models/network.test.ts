// The networks against PyTorch: fixtures from scripts/fixtures/networks/make_fixtures.py (Debian's
// python3-torch) built with the same architectures and the same formula weights (formula.ts).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNetwork, type Network } from '../../lib/models/network.js';
import { RESNET_DEPTHS } from '../../lib/config/model.js';
import { requireNative } from '../helpers/native.js';
import { formula, formulaStateDict, makeInput, relativeError, summarise, type Summary } from './formula.js';

requireNative();

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/networks/${name}.json`, import.meta.url), 'utf8'));
const TOL = 1e-4;
/**
 * The tolerance for one quantity: 1e-4 relative, or 4x what float32 itself resolves of it (the
 * fixture script measures that as float32 PyTorch vs float64 PyTorch) when that is worse. Eval
 * outputs and most training quantities resolve far below 1e-4; a few gradients of the first layers
 * of the deepest train-mode networks (many BatchNorms of tiny batches in a row) do not.
 */
const tol = (precision: number | undefined) => Math.max(TOL, 4 * (precision ?? 0));
// The fixtures' optimiser: rates large enough that one Adam step shows in float32 parameters.
const TRAIN = { learningRate: 1e-3, agentLearningRate: 1e-2, weightDecay: 1e-2, agentWeightDecay: 1e-2 };

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = TOL): void {
  expect(actual.length, what).toBe(expected.length);
  const err = relativeError(actual, expected);
  expect(err, `${what}: relative error ${err}`).toBeLessThan(tol);
}

function expectSummary(actual: Summary, expected: Summary, what: string, headTol = TOL, sumTol = TOL): void {
  expect(actual.numel, what).toBe(expected.numel);
  expectClose(actual.head, expected.head, `${what} (first values)`, headTol);
  expectClose([actual.absSum], [expected.absSum], `${what} (sum of |x|)`, sumTol);
  // The signed sum cancels; compare it on the scale of the absolute sum.
  expect(Math.abs(actual.sum - expected.sum) / expected.absSum, `${what} (sum)`).toBeLessThan(sumTol);
}

/**
 * Adam's first step moves each parameter by about lr * sign(gradient): where float32 cannot resolve
 * the gradient to 1e-4 (see `tol`), small gradients may flip sign between any two float32
 * evaluations, so only the size of the step is compared there: a check of Adam's step size, not
 * of its values. The values of every update of ResNet3D-50 and SpotTune3D-50 are compared against
 * float64 PyTorch in test/models/training-parity.test.ts.
 */
function expectUpdate(actual: Summary, expected: Summary, key: string, gradientPrecision: number, updatePrecision: number): void {
  if (gradientPrecision < TOL / 4) {
    expectClose(actual.head, expected.head, `Adam update of ${key}`, tol(updatePrecision));
  } else {
    const size = (s: Summary) => Math.max(...s.head.map(Math.abs));
    expectClose(
      [size(actual)],
      [size(expected)],
      `size of Adam's first step for ${key} (values: test/models/training-parity.test.ts)`,
      tol(updatePrecision),
    );
  }
}

const floats = (t: { data: ArrayLike<number> | BigInt64Array } | undefined): Float32Array => {
  if (!t) throw new Error('missing tensor');
  return t.data as Float32Array;
};

async function updatesAfterStep(net: Network, run: () => Promise<unknown>, names: string[]): Promise<Map<string, Summary>> {
  const before = await net.stateDict();
  await run();
  const after = await net.stateDict();
  return new Map(
    names.map((n) => {
      const a = floats(after.get(n));
      const b = floats(before.get(n));
      return [n, summarise(a.map((v, i) => v - b[i]))];
    }),
  );
}

describe('ResNet3d equals PyTorch (MedicalNet layout)', () => {
  const cases = [...RESNET_DEPTHS.map((d) => `resnet${d}`), 'resnet18-shortcut-b', 'resnet50-shortcut-a'];
  test.each(cases)('%s: eval logits, a training step (loss, probabilities, gradients, Adam update, BN statistics)', async (name) => {
    const fx = fixture(name);
    await using net = await createNetwork({ kind: 'resnet', depth: fx.depth, shortcutType: fx.shortcutType, ...TRAIN });
    expect(net.parameterCount()).toBe(fx.parameterCount);
    expect(net.parameterCount({ trainable: true })).toBe(fx.parameterCount);
    const report = await net.loadStateDict(formulaStateDict(net.stateInfo()));
    expect(report.missing).toEqual([]);
    const x = makeInput(fx.shape);
    const { logits, probabilities } = await net.predict(x, fx.shape);
    const pr = fx.precision;
    // Guards the adaptive tolerance: eval outputs are always held to 1e-4, and so is the whole
    // training step of the BasicBlock networks; only deep Bottleneck networks in train mode loosen.
    expect(pr.evalLogits).toBeLessThan(TOL / 4);
    if (fx.depth <= 34) {
      for (const v of [pr.loss, pr.probabilities, ...Object.values(pr.gradients), ...Object.values(pr.updates)] as number[]) {
        expect(v).toBeLessThan(TOL / 4);
      }
    }
    expectClose(logits, fx.evalLogits, 'eval logits', tol(pr.evalLogits));
    expectClose(
      probabilities,
      fx.evalLogits.map((l: number) => 1 / (1 + Math.exp(-l))),
      'eval probabilities',
    );

    const names = Object.keys(fx.updates);
    let step: { loss: number; probabilities: Float32Array } | undefined;
    const updates = await updatesAfterStep(
      net,
      async () => {
        step = await net.trainStep(x, fx.shape, Float32Array.from(fx.labels), { seed: 0, tau: 100 });
      },
      names,
    );
    // One estimate per computation: the loss and the probabilities come from the same forward pass,
    // a gradient's first values and its sums from the same backward pass.
    const forward = Math.max(pr.loss, pr.probabilities);
    expectClose([step!.loss], [fx.loss], 'loss', tol(forward));
    expectClose(step!.probabilities, fx.probabilities, 'train-mode probabilities', tol(forward));
    const grads = await net.gradients(Object.keys(fx.gradients));
    for (const [key, expected] of Object.entries(fx.gradients) as [string, Summary][]) {
      const backward = Math.max(pr.gradients[key], pr.gradientAbsSums[key]);
      expectSummary(summarise(floats(grads.get(key))), expected, `gradient of ${key}`, tol(backward), tol(backward));
    }
    for (const [key, expected] of Object.entries(fx.updates) as [string, Summary][]) {
      expectUpdate(updates.get(key)!, expected, key, Math.max(pr.gradients[key], pr.gradientAbsSums[key]), pr.updates[key]);
    }
    const state = await net.stateDict();
    for (const [key, expected] of Object.entries(fx.buffers) as [string, Summary][]) {
      expectSummary(summarise(floats(state.get(key))), expected, key, tol(pr.buffers[key]), tol(pr.buffers[key]));
    }
    expect(state.get('bn1.num_batches_tracked')!.data).toEqual(new BigInt64Array([1n]));
  });

  test('a one-channel stem weight is inflated over two input channels (repeat, divide by C) as PyTorch does', async () => {
    const fx = fixture('inflation');
    await using net = await createNetwork({ kind: 'resnet', depth: 10, inputChannels: 2 });
    const weights = formulaStateDict(net.stateInfo());
    weights.set('conv1.weight', formula('conv1.weight', [64, 1, 7, 7, 7]));
    const report = await net.loadStateDict(weights);
    expect(report.loaded).toContain('conv1.weight');
    const { logits } = await net.predict(makeInput(fx.shape), fx.shape);
    expectClose(logits, fx.evalLogits, 'inflated logits');
    await expect(net.loadStateDict(weights, { inflate: false })).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT_MISMATCH',
      message: expect.stringContaining('conv1.weight [64, 2, 7, 7, 7] vs [64, 1, 7, 7, 7]'),
    });
  });
});

describe('SpotTune3d-50 equals PyTorch', () => {
  const fx = fixture('spottune50');
  let net: Network;
  const x = makeInput(fx.shape);
  const n = fx.shape[0];
  const rows = (flat: number[]) => Array.from({ length: n }, (_, i) => flat.slice(i * 16, (i + 1) * 16));

  beforeAll(async () => {
    net = await createNetwork({ kind: 'spottune', depth: 50, ...TRAIN });
    await net.loadStateDict(formulaStateDict(net.stateInfo()));
  });
  afterAll(() => net?.dispose());

  test('has 60,506,977 trainable parameters at one input channel (the paper: about 60 million)', () => {
    expect(net.parameterCount({ trainable: true })).toBe(60_506_977);
    expect(net.parameterCount({ trainable: true })).toBe(fx.trainableParameters);
    expect(net.parameterCount()).toBe(fx.totalParameters);
    expect(net.parameterCount({ trainable: false })).toBe(46_155_072);
    expect(net.policyLength).toBe(16);
  });

  test('names: shared stem, frozen blocks, fine-tuned parallel_blocks, fc, agent ResNet10 with 2 logits per block', () => {
    const info = new Map(net.stateInfo().map((e) => [e.name, e]));
    expect(info.get('conv1.weight')).toMatchObject({ shape: [64, 1, 7, 7, 7], trainable: false });
    expect(info.get('bn1.running_var')).toMatchObject({ parameter: false });
    expect(info.get('blocks.layer3.5.conv2.weight')).toMatchObject({ shape: [256, 256, 3, 3, 3], trainable: false });
    expect(info.get('parallel_blocks.layer3.5.conv2.weight')).toMatchObject({ shape: [256, 256, 3, 3, 3], trainable: true });
    expect(info.get('parallel_blocks.layer2.0.downsample.1.weight')).toMatchObject({ shape: [512], trainable: true });
    expect(info.get('fc.weight')).toMatchObject({ shape: [1, 2048], trainable: true });
    expect(info.get('agent.layer1.0.conv1.weight')).toMatchObject({ shape: [64, 64, 3, 3, 3], trainable: true });
    expect(info.get('agent.fc.weight')).toMatchObject({ shape: [32, 512], trainable: true });
  });

  test.each(['select', 'both'] as const)("a fixed policy gives PyTorch's logits (routing %s)", async (routing) => {
    const p = await net.predict(x, fx.shape, { policy: rows(fx.fixedPolicy), routing });
    expectClose(p.logits, fx.fixedLogits, 'fixed-policy logits', tol(fx.precision.fixedLogits));
    expect(Array.from(p.policy!)).toEqual(fx.fixedPolicy);
  });

  test('the deterministic policy is the argmax of the agent (in eval mode)', async () => {
    const p = await net.predict(x, fx.shape, { policy: 'argmax' });
    expectClose(p.agentLogits!, fx.agentLogits, 'agent logits', tol(fx.precision.agentLogits));
    expect(Array.from(p.policy!)).toEqual(fx.argmaxPolicy);
    expectClose(p.logits, fx.argmaxLogits, 'argmax-policy logits', tol(fx.precision.argmaxLogits));
  });

  test("a sampled policy is argmax(logits + G); given G it is PyTorch's", async () => {
    const p = await net.predict(x, fx.shape, { policy: 'sample', gumbelNoise: Float32Array.from(fx.noise) });
    expect(Array.from(p.policy!)).toEqual(fx.sampledPolicy);
    expectClose(p.logits, fx.sampledLogits, 'sampled-policy logits', tol(fx.precision.sampledLogits));
  });

  test('policy-aware inference (only the chosen copy per sample) equals the two-branch form', async () => {
    for (const seed of [1, 2, 3]) {
      const select = await net.predict(x, fx.shape, { seed });
      const both = await net.predict(x, fx.shape, { seed, routing: 'both' });
      expect(select.policy).toEqual(both.policy);
      expectClose(select.logits, both.logits, 'select vs both', 1e-5);
    }
  });

  test('a training step: straight-through Gumbel-softmax, both Adams, frozen parts untouched', async () => {
    const names = Object.keys(fx.updates);
    let step: { loss: number; probabilities: Float32Array; policy?: Uint8Array } | undefined;
    const before = await net.stateDict();
    const updates = await updatesAfterStep(
      net,
      async () => {
        step = await net.trainStep(x, fx.shape, Float32Array.from(fx.labels), {
          seed: 0,
          tau: fx.tau,
          gumbelNoise: Float32Array.from(fx.noise),
        });
      },
      names,
    );
    const pr = fx.precision;
    expect(Array.from(step!.policy!)).toEqual(fx.trainPolicy);
    expectClose([step!.loss], [fx.loss], 'loss', tol(Math.max(pr.loss, pr.probabilities)));
    expectClose(step!.probabilities, fx.probabilities, 'train-mode probabilities', tol(Math.max(pr.loss, pr.probabilities)));
    const grads = await net.gradients();
    for (const [key, expected] of Object.entries(fx.gradients) as [string, Summary][]) {
      const backward = Math.max(pr.gradients[key], pr.gradientAbsSums[key]);
      expectSummary(summarise(floats(grads.get(key))), expected, `gradient of ${key}`, tol(backward), tol(backward));
    }
    for (const key of fx.frozenWithoutGradient) expect(grads.has(key), key).toBe(false);
    expect([...grads.keys()].some((k) => k.startsWith('blocks.') || k.startsWith('conv1.') || k.startsWith('bn1.'))).toBe(false);
    for (const [key, expected] of Object.entries(fx.updates) as [string, Summary][]) {
      expectUpdate(updates.get(key)!, expected, key, Math.max(pr.gradients[key], pr.gradientAbsSums[key]), pr.updates[key]);
    }
    const after = await net.stateDict();
    const same = (k: string) => Buffer.from(floats(after.get(k)).buffer).equals(Buffer.from(floats(before.get(k)).buffer));
    expect(same('blocks.layer4.2.conv3.weight')).toBe(true);
    expect(same('blocks.layer1.0.bn1.weight')).toBe(true);
    expect(same('conv1.weight')).toBe(true);
    // The study's behaviour: frozen BatchNorms still update their running statistics in training.
    for (const [key, expected] of Object.entries(fx.buffers) as [string, Summary][]) {
      expectSummary(summarise(floats(after.get(key))), expected, key, tol(pr.buffers[key]), tol(pr.buffers[key]));
    }
  });

  test('every eval output, the loss and the probabilities are compared at exactly 1e-4', () => {
    // Guards the adaptive tolerance: it may only loosen where float32 itself cannot resolve 1e-4.
    for (const k of ['fixedLogits', 'agentLogits', 'argmaxLogits', 'sampledLogits', 'loss', 'probabilities']) {
      expect(fx.precision[k], k).toBeLessThan(TOL / 4);
    }
    expect(fx.samePolicyInFloat64).toBe(true);
  });
});

describe('ReduceLROnPlateau equals PyTorch', () => {
  const fx = fixture('plateau');
  test.each(fx.cases as { mode: 'max' | 'min'; patience: number; cooldown: number; learningRates: number[][] }[])(
    'mode $mode, patience $patience, cooldown $cooldown',
    async ({ mode, patience, cooldown, learningRates }) => {
      await using net = await createNetwork({ kind: 'spottune', depth: 10, scheduler: { mode, patience, cooldown } });
      expect(net.learningRates()).toEqual([1e-5, 1e-4]);
      const got = fx.metrics.map((m: number) => net.schedulerStep(m).learningRates);
      got.forEach((lrs: number[], i: number) => {
        expect(lrs[0]).toBeCloseTo(learningRates[i][0], 15);
        expect(lrs[1]).toBeCloseTo(learningRates[i][1], 14);
      });
    },
  );
});
