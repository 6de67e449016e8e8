// What the networks promise besides equality with PyTorch: seeded reproducibility, an exact resume
// from a checkpoint, freezing, state-dict round trips, and clear errors for bad calls.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CheckpointError, TorchError } from '../../lib/native/errors.js';
import {
  createNetwork,
  createRandomResNet,
  createResNet3d,
  createSpotTune3d,
  createTransferResNet,
  type Network,
  type TrainStepOptions,
} from '../../lib/models/network.js';
import { requireNative } from '../helpers/native.js';
import { cudaAvailable, runtime, setNumThreads } from '../../lib/runtime.js';
import { makeInput } from './formula.js';

/** Byte equality of two typed arrays (toEqual walks millions of elements slowly). */
function sameBytes(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  if (!a || !b) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

requireNative();

const SHAPE = [2, 1, 16, 16, 16];
const x = makeInput(SHAPE);
const labels = new Float32Array([1, 0]);
const small = { depth: 10, agentDepth: 10, learningRate: 1e-3, agentLearningRate: 1e-2 } as const;
/** The Gumbel temperature of every step here (the ResNets ignore it). */
const TAU = 5;

async function params(net: Network): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of await net.stateDict()) if (v.data instanceof Float32Array) out.set(k, v.data);
  return out;
}

describe('seeded and resumable', () => {
  test('the same seed gives the same initial weights; another seed other weights', async () => {
    await using a = await createResNet3d({ depth: 10, seed: 7 });
    await using b = await createResNet3d({ depth: 10, seed: 7 });
    await using c = await createResNet3d({ depth: 10, seed: 8 });
    const [pa, pb, pc] = await Promise.all([params(a), params(b), params(c)]);
    for (const [k, v] of pa) expect(sameBytes(pb.get(k), v), k).toBe(true);
    expect(sameBytes(pa.get('layer1.0.conv1.weight'), pc.get('layer1.0.conv1.weight'))).toBe(false);
    // MedicalNet's init: BatchNorm weight 1, bias 0; conv kaiming normal with fan_out.
    expect(Array.from(pa.get('bn1.weight')!).every((v) => v === 1)).toBe(true);
    const w = pa.get('layer4.0.conv2.weight')!;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / (512 * 27)), 3);
  });

  test('a SpotTune policy sample depends only on the seed', async () => {
    await using net = await createSpotTune3d(small);
    const a = await net.predict(x, SHAPE, { seed: 11 });
    const b = await net.predict(x, SHAPE, { seed: 11 });
    expect(a.policy).toEqual(b.policy);
    expect(a.logits).toEqual(b.logits);
    const seen = new Set<string>();
    for (let seed = 0; seed < 8; seed++) seen.add(Array.from((await net.predict(x, SHAPE, { seed })).policy!).join(''));
    expect(seen.size).toBeGreaterThan(1);
    const argmax = await net.predict(x, SHAPE, { policy: 'argmax', seed: 1 });
    expect((await net.predict(x, SHAPE, { policy: 'argmax', seed: 2 })).policy).toEqual(argmax.policy);
  });

  test('checkpoint + resume (weights, Adam, schedule) repeats an uninterrupted run exactly, dropout and Gumbel noise included', async () => {
    const options = { ...small, dropout: 0.3 };
    await using straight = await createSpotTune3d(options);
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      losses.push((await straight.trainStep(x, SHAPE, labels, { seed: 100 + step, tau: TAU })).loss);
      if (step === 0) straight.schedulerStep(0.5);
    }

    await using first = await createSpotTune3d(options);
    expect((await first.trainStep(x, SHAPE, labels, { seed: 100, tau: TAU })).loss).toBe(losses[0]);
    first.schedulerStep(0.5);
    const weights = await first.stateDict();
    const adam = await first.optimizerState();
    const schedule = first.schedulerState();
    expect(adam.get('main.step.fc.weight')!.data).toEqual(new BigInt64Array([1n]));
    expect(adam.get('agent.exp_avg.agent.fc.weight')!.shape).toEqual([8, 512]);
    expect(schedule).toMatchObject({ best: 0.5, numBadEpochs: 0, lastEpoch: 1 });

    await using resumed = await createSpotTune3d({ ...options, seed: 999 }); // other init: everything must come from the checkpoint
    await resumed.loadStateDict(weights);
    await resumed.loadOptimizerState(adam);
    resumed.loadSchedulerState(JSON.parse(JSON.stringify(schedule)));
    for (let step = 1; step < 3; step++) {
      expect((await resumed.trainStep(x, SHAPE, labels, { seed: 100 + step, tau: TAU })).loss).toBe(losses[step]);
    }
    const [a, b] = [await params(straight), await params(resumed)];
    for (const [k, v] of a) expect(sameBytes(b.get(k), v), k).toBe(true);
    expect(resumed.schedulerState()).toEqual(straight.schedulerState());
  });

  test('without its Adam state a resumed run diverges (the state matters)', async () => {
    await using a = await createResNet3d({ depth: 10, learningRate: 1e-3 });
    await a.trainStep(x, SHAPE, labels, { seed: 1, tau: TAU });
    const w = await a.stateDict();
    await a.trainStep(x, SHAPE, labels, { seed: 2, tau: TAU });
    await using b = await createResNet3d({ depth: 10, learningRate: 1e-3 });
    await b.loadStateDict(w);
    await b.trainStep(x, SHAPE, labels, { seed: 2, tau: TAU });
    expect((await params(b)).get('fc.weight')).not.toEqual((await params(a)).get('fc.weight'));
  });
});

describe("the paper's comparison networks", () => {
  test('transfer: only the classifier trains; frozen weights stay, frozen BatchNorm statistics move (the study)', async () => {
    await using net = await createTransferResNet({ depth: 50, learningRate: 1e-3 });
    expect(net.parameterCount({ trainable: true })).toBe(2049);
    const before = await net.stateDict();
    await net.trainStep(x, SHAPE, labels, { seed: 0, tau: TAU });
    const after = await net.stateDict();
    expect(sameBytes(after.get('layer4.2.conv3.weight')!.data, before.get('layer4.2.conv3.weight')!.data)).toBe(true);
    expect(sameBytes(after.get('fc.weight')!.data, before.get('fc.weight')!.data)).toBe(false);
    expect(after.get('layer1.0.bn1.running_mean')!.data).not.toEqual(before.get('layer1.0.bn1.running_mean')!.data);
    expect([...(await net.gradients()).keys()]).toEqual(['fc.weight', 'fc.bias']);
  });

  test('transfer with frozenBatchNormUpdatesStats false keeps frozen statistics; trainableBlocks opens the last blocks', async () => {
    await using net = await createTransferResNet({ depth: 50, frozenBatchNormUpdatesStats: false, transfer: { trainableBlocks: 3 } });
    const layer4 = net.stateInfo().filter((e) => e.parameter && e.name.startsWith('layer4.'));
    expect(layer4.every((e) => e.trainable)).toBe(true);
    expect(net.stateInfo().find((e) => e.name === 'layer3.5.conv1.weight')!.trainable).toBe(false);
    const expected = 2049 + layer4.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
    expect(net.parameterCount({ trainable: true })).toBe(expected);
    const before = await net.stateDict();
    await net.trainStep(x, SHAPE, labels, { seed: 0, tau: TAU });
    const after = await net.stateDict();
    expect(after.get('layer1.0.bn1.running_mean')!.data).toEqual(before.get('layer1.0.bn1.running_mean')!.data);
    expect(after.get('layer4.0.bn1.running_mean')!.data).not.toEqual(before.get('layer4.0.bn1.running_mean')!.data);
  });

  test('random: every parameter trains', async () => {
    await using net = await createRandomResNet({ depth: 18 });
    expect(net.parameterCount({ trainable: true })).toBe(net.parameterCount());
    expect(net.config.shortcutType).toBe('A');
    expect(net.stateNames().some((k) => k.includes('downsample'))).toBe(false);
  });

  test('a state dict round trip reproduces the predictions', async () => {
    await using a = await createSpotTune3d(small);
    await a.trainStep(x, SHAPE, labels, { seed: 3, tau: TAU });
    await using b = await createSpotTune3d({ ...small, seed: 5 });
    const report = await b.loadStateDict(await a.stateDict());
    expect(report.loaded.length).toBe(a.stateNames().length);
    expect(await b.predict(x, SHAPE, { seed: 9 })).toEqual(await a.predict(x, SHAPE, { seed: 9 }));
  });
});

describe('BAD CALL', () => {
  let net: Network;
  beforeAll(async () => {
    net = await createSpotTune3d(small);
  });
  afterAll(() => net.dispose()); // the last test disposes it already; twice is fine

  test('wrong input kind, rank, channels or size', async () => {
    await expect(net.predict(new Float64Array(x) as unknown as Float32Array, SHAPE)).rejects.toThrow(TypeError);
    await expect(net.predict(new Float64Array(x) as unknown as Float32Array, SHAPE)).rejects.toThrow(/input.*Float32Array.*Float64Array/);
    await expect(net.predict(x, [2, 16, 16, 16])).rejects.toThrow(/shape to have rank 5 but received rank 4/);
    await expect(net.predict(x, [1, 2, 16, 16, 16])).rejects.toThrow(RangeError);
    await expect(net.predict(x, [1, 2, 16, 16, 16])).rejects.toThrow(/Expected 1 input channel.*received shape \[1, 2, 16, 16, 16\]/);
    await expect(net.predict(x, [2, 1, 16, 16, 8])).rejects.toThrow(/hold input.length = 8192 elements but it holds 4096/);
  });

  test('wrong policy length or values, wrong labels, bad seed', async () => {
    await expect(
      net.predict(x, SHAPE, {
        policy: [
          [1, 0, 1],
          [0, 0, 0],
        ],
      }),
    ).rejects.toThrow(/policy\[0\] to hold 4 values/);
    await expect(net.predict(x, SHAPE, { policy: [[1, 0, 1, 0]] })).rejects.toThrow(/2 rows/);
    await expect(net.predict(x, SHAPE, { policy: new Uint8Array(7) })).rejects.toThrow(/\[2, 4\] = 8 values but received 7/);
    await expect(
      net.predict(x, SHAPE, {
        policy: [
          [1, 0, 2, 0],
          [0, 0, 0, 0],
        ],
      }),
    ).rejects.toThrow(/0 or 1/);
    await expect(net.predict(x, SHAPE, { gumbelNoise: new Float32Array(3) })).rejects.toThrow(/gumbelNoise to hold \[2, 4, 2\] = 16/);
    await expect(net.trainStep(x, SHAPE, new Float32Array(3), { seed: 0, tau: TAU })).rejects.toThrow(
      /labels to hold \[2, 1\] = 2 values but received 3/,
    );
    await expect(net.trainStep(x, SHAPE, labels, { seed: -1, tau: TAU })).rejects.toThrow(RangeError);
  });

  test('SpotTune needs the Gumbel temperature of each step (the network holds none)', async () => {
    await expect(net.trainStep(x, SHAPE, labels, { seed: 0 } as TrainStepOptions)).rejects.toThrow(/options\.tau/);
    await expect(net.trainStep(x, SHAPE, labels, { seed: 0, tau: 0 })).rejects.toThrow(RangeError);
  });

  test('a state dict with a wrong shape: strict throws naming key and both shapes, loose reports it', async () => {
    const sd = await net.stateDict();
    sd.set('fc.weight', { dtype: 'float32', shape: [1, 256], data: new Float32Array(256) });
    sd.set('extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    sd.delete('agent.fc.bias');
    const err = await net.loadStateDict(sd).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toMatch(/fc\.weight \[1, 512\] vs \[1, 256\]/);
    expect(err.message).toMatch(/missing \(1\): agent\.fc\.bias/);
    expect(err.message).toMatch(/unexpected \(1\): extra\.weight/);
    const report = await net.loadStateDict(sd, { strict: false });
    expect(report.mismatched).toEqual([{ key: 'fc.weight', expected: [1, 512], actual: [1, 256] }]);
    expect(report.unexpected).toEqual(['extra.weight']);
    expect(report.missing).toEqual(['agent.fc.bias']);
    sd.set('fc.weight', { dtype: 'float32', shape: [1, 512], data: new Float32Array(3) });
    await expect(net.loadStateDict(sd, { strict: false })).rejects.toThrow(
      /"fc.weight": shape \[1, 512\] holds 512 elements but data has 3/,
    );
    sd.set('fc.weight', { dtype: 'int64', shape: [1, 512], data: new BigInt64Array(512) });
    await expect(net.loadStateDict(sd, { strict: false })).rejects.toThrow(TypeError);
  });

  test('invalid options name the key and suggest near misses', async () => {
    await expect(createNetwork({ shortcutType: 'b' as 'B' })).rejects.toThrow(/shortcutType.*did you mean "B"/);
    await expect(createNetwork({ depth: 42 as 50 })).rejects.toThrow(RangeError);
    await expect(createNetwork({ seeds: 1 } as object)).rejects.toThrow(/Unknown key "seeds"; did you mean "seed"/);
    if (!cudaAvailable()) await expect(createNetwork({ device: 'cuda:0' })).rejects.toMatchObject({ code: 'ERR_CUDA_UNAVAILABLE' });
    await expect(createTransferResNet({ depth: 10, transfer: { trainableBlocks: 5 } })).rejects.toThrow(/at most 4/);
  });

  test('a second call while one runs is refused; a NaN loss rejects without applying the step', async () => {
    const first = net.predict(x, SHAPE);
    await expect(net.predict(x, SHAPE)).rejects.toMatchObject({ code: 'ERR_BUSY', message: expect.stringMatching(/busy with predict/) });
    expect(() => net.schedulerStep(1)).toThrow(TorchError);
    await first;
    const before = await net.stateDict();
    const bad = x.slice();
    bad[0] = Number.NaN;
    await expect(net.trainStep(bad, SHAPE, labels, { seed: 0, tau: TAU })).rejects.toMatchObject({ code: 'ERR_NONFINITE_LOSS' });
    expect((await net.stateDict()).get('fc.weight')!.data).toEqual(before.get('fc.weight')!.data);
  });

  test('after dispose every call throws ERR_DISPOSED', async () => {
    net.dispose();
    await expect(net.predict(x, SHAPE)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
    expect(() => net.parameterCount()).toThrow(/disposed/);
    net.dispose(); // twice is fine
  });
});

describe('threads', () => {
  /** The process's live threads (Linux: /proc/self/status). */
  function threads(): number {
    const line = readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Threads:'));
    return Number(line!.split(/\s+/)[1]);
  }
  /** The count once it is `expected` (or, for -1, once it has not changed for 100 ms): a joined thread leaves /proc a moment after join returns. */
  // The thread count once it holds steady for 500 ms (or equals `expected`), within a 30 s
  // deadline: threads start and join asynchronously, slowly on a loaded machine.
  async function settle(expected: number): Promise<number> {
    const deadline = Date.now() + 30_000;
    let last = threads();
    for (let same = 0; Date.now() < deadline && (expected < 0 ? same < 25 : last !== expected); ) {
      await new Promise((r) => setTimeout(r, 20));
      const now = threads();
      same = now === last ? same + 1 : 0;
      last = now;
    }
    return last;
  }

  test('each network computes on a thread of its own, joined when the network is disposed', async () => {
    const warm = await createResNet3d({ depth: 10 }); // brings up libuv's pool and LibTorch's threads
    await warm.trainStep(x, SHAPE, labels, { seed: 0, tau: TAU });
    warm.dispose();
    const baseline = await settle(-1);
    const nets = await Promise.all([createResNet3d({ depth: 10 }), createResNet3d({ depth: 10 }), createSpotTune3d(small)]);
    await Promise.all(nets.map((n, i) => n.trainStep(x, SHAPE, labels, { seed: i, tau: TAU })));
    // Three threads of their own (plus, with several intra-op threads, an OpenMP team each).
    expect(threads()).toBeGreaterThanOrEqual(baseline + 3);
    // Disposing in the middle of a step: the step still settles, then its thread goes.
    const running = nets[2]!.trainStep(x, SHAPE, labels, { seed: 9, tau: TAU });
    for (const n of nets) n.dispose();
    await expect(running).resolves.toMatchObject({ loss: expect.any(Number) });
    expect(await settle(baseline)).toBe(baseline);
  });

  test('setNumThreads reaches the network threads (OpenMP keeps a thread count per thread)', async () => {
    const before = runtime().threads;
    try {
      const teamOf = async (n: number): Promise<number> => {
        setNumThreads(n);
        const base = await settle(-1);
        const net = await createResNet3d({ depth: 10 });
        await net.trainStep(x, SHAPE, labels, { seed: 0, tau: TAU });
        const grown = threads() - base; // the network's thread and its OpenMP team beyond it
        net.dispose();
        await settle(base);
        return grown;
      };
      expect(await teamOf(1)).toBe(1);
      expect(await teamOf(3)).toBe(3);
    } finally {
      setNumThreads(before);
    }
  });
});
