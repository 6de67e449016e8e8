// Every path a C++ exception takes into JS (native/bridge/common.cc, describe_current_exception):
// each kind of exception becomes an Error with a stable code, on the JS thread (thrown), on a libuv
// pool thread and on a network's own thread (rejected), and fromNative turns it into a TorchError
// with that code. Where an input reaches a path on demand, the test takes that input (a c10::Error,
// a std::exception from a checked reader, an allocation LibTorch refuses); the kinds no input
// reaches on demand (std::bad_alloc: LibTorch's CPU allocator reports a c10::Error instead; a
// non-std exception) go through testHooks.raise, which throws them (native/bridge/runtime.cc).
import { describe, expect, test } from 'vitest';
import { native } from '../../lib/native/binding.js';
import { fromNative, TorchError } from '../../lib/native/errors.js';
import { createResNet3d } from '../../lib/models/network.js';
import { requireNative } from '../helpers/native.js';

requireNative();

type Kind = Parameters<ReturnType<typeof native>['testHooks']['raise']>[0];

const KINDS: [Kind, string, RegExp][] = [
  ['coded', 'ERR_TEST', /^a coded error$/],
  ['torch', 'ERR_TORCH', /^a c10::Error$/],
  ['torch-oom', 'ERR_OUT_OF_MEMORY', /can't allocate memory/],
  ['bad_alloc', 'ERR_OUT_OF_MEMORY', /^out of host memory \(std::bad_alloc\)$/],
  ['std', 'ERR_NATIVE', /^a std::logic_error$/],
  ['unknown', 'ERR_NATIVE', /^unknown native exception$/],
];

/** What a raw call threw or rejected with, after fromNative. */
async function settle(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return fromNative(err);
  }
  return undefined;
}

describe('each kind of C++ exception, on each path, is a TorchError with its code', () => {
  test('testHooks holds raise only (it is no API function)', () => {
    expect(Object.keys(native().testHooks)).toEqual(['raise']);
  });

  const cases = KINDS.flatMap(([kind, code, message]) =>
    (['sync', 'pool', 'thread'] as const).map((where) => [kind, where, code, message] as const),
  );
  test.each(cases)('%s on %s -> %s', async (kind, where, code, message) => {
    const hooks = native().testHooks;
    if (where === 'sync') {
      // thrown synchronously, not returned as a rejected Promise
      let thrown: unknown;
      try {
        hooks.raise(kind, where);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(thrown).toMatchObject({ code, native: true });
    }
    const err = await settle(() => hooks.raise(kind, where));
    expect(err).toBeInstanceOf(TorchError);
    expect((err as TorchError).code).toBe(code);
    expect((err as Error).message).toMatch(message);
  });

  test('the hook refuses what it does not know, with a code', async () => {
    const hooks = native().testHooks;
    expect(() => hooks.raise('nope' as Kind, 'sync')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => hooks.raise('std', 'nowhere' as 'sync')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('real inputs that reach the paths', () => {
  test('an allocation LibTorch refuses (a 2 PB classifier) is ERR_OUT_OF_MEMORY from createNetwork, not a crash', async () => {
    // numClasses has no upper bound in the schema: fc.weight [2^40, 512] float32 is 2^51 bytes,
    // beyond any address space, so the CPU allocator refuses it at once.
    const err = await createResNet3d({ depth: 10, numClasses: 2 ** 40 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorchError);
    expect((err as TorchError).code).toBe('ERR_OUT_OF_MEMORY');
    expect((err as Error).message).toMatch(/allocate/);
    expect((err as Error).stack).toMatch(/exception-paths\.test\.ts/); // thrown at the caller's stack
  });

  test('a real network call reaches the c10::Error, std::exception and CodedError paths (the raw binding, past TS)', async () => {
    const b = native();
    const raw = new b.NativeNetwork();
    await raw.init({
      kind: 'resnet',
      architecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
      agentArchitecture: { bottleneck: false, layers: [1, 1, 1, 1], shortcut: 'B' },
      inputChannels: 1,
      numClasses: 1,
      dropout: 0,
      trainableBlocks: -1,
      frozenBatchNormUpdatesStats: true,
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
      // two input channels into a one-channel stem: TS would refuse, LibTorch's conv3d throws a c10::Error
      const err = await settle(() =>
        raw.predict(new Float32Array(2 * 8 * 8 * 8), [1, 2, 8, 8, 8], {
          policyMode: 'none',
          policy: null,
          noise: null,
          seed: 0,
          routing: 'select',
        }),
      );
      expect(err).toBeInstanceOf(TorchError);
      expect((err as TorchError).code).toBe('ERR_TORCH');
      expect((err as Error).message).toMatch(/channels/);
      expect((err as Error).message).not.toMatch(/Exception raised from/);
      // a std::exception (std::invalid_argument) from Adam's checked reader, on the network thread
      const bad = await settle(() =>
        raw.loadOptimizerState([
          { name: 'main.step.fc.bias', shape: [0], data: new BigInt64Array(0) },
          { name: 'main.exp_avg.fc.bias', shape: [1], data: new Float32Array(1) },
          { name: 'main.exp_avg_sq.fc.bias', shape: [1], data: new Float32Array(1) },
        ]),
      );
      expect(bad).toBeInstanceOf(TorchError);
      expect((bad as TorchError).code).toBe('ERR_NATIVE');
      expect((bad as Error).message).toMatch(/main\.step\.fc\.bias.*one non-negative integer/);
      // and a CodedError from a synchronous reader on the JS thread
      const coded = await settle(() => raw.loadState([{ name: 'nope', shape: [1], data: new Float32Array(1) }]));
      expect(coded).toMatchObject({ code: 'ERR_STATE_DICT' });
    } finally {
      raw.dispose();
    }
  });
});
