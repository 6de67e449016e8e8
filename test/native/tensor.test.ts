import { describe, expect, test } from 'vitest';
import { Tensor, TorchError, cudaAvailable, runtime, manualSeed, setNumThreads } from '../../lib/index.js';
import { requireNative } from '../helpers/native.js';

requireNative();

describe('Tensor round trips', () => {
  test.each([
    ['float32', new Float32Array([1.5, -2, 3.25, 4, 5, 6])],
    ['float64', new Float64Array([1e-300, -2, 3, 4, 5, 6])],
    ['int32', new Int32Array([1, -2, 2 ** 31 - 1, 4, 5, 6])],
    ['int16', new Int16Array([1, -2, 32767, 4, 5, 6])],
    ['int8', new Int8Array([1, -2, 127, -128, 5, 6])],
    ['uint8', new Uint8Array([1, 2, 255, 4, 5, 6])],
    ['int64', new BigInt64Array([1n, -2n, 2n ** 62n, 4n, 5n, 6n])],
  ] as const)('%s keeps values, shape and dtype', (dtype, data) => {
    const t = Tensor.from(data, [2, 3]);
    expect(t.dtype).toBe(dtype);
    expect(t.shape).toEqual([2, 3]);
    expect(t.device).toBe('cpu');
    expect(Array.from(t.dataSync() as ArrayLike<unknown>)).toEqual(Array.from(data as ArrayLike<unknown>));
    t.dispose();
  });

  test('honours the byteOffset of a subarray view', () => {
    const base = new Float32Array([9, 9, 1, 2, 3, 4, 9]);
    const t = Tensor.from(base.subarray(2, 6), [4]);
    expect(Array.from(t.dataSync() as ArrayLike<number>)).toEqual([1, 2, 3, 4]);
  });

  test('copies: changing the source array later does not change the tensor', () => {
    const data = new Float32Array([1, 2]);
    const t = Tensor.from(data, [2]);
    data[0] = 100;
    expect(t.dataSync()[0]).toBe(1);
  });

  test('bool from 0/1 bytes, float16 and bfloat16 read back widened to float32', async () => {
    const b = Tensor.from(new Uint8Array([0, 1, 1]), [3], 'bool');
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.dataSync() as ArrayLike<number>)).toEqual([0, 1, 1]);
    const h = await Tensor.from(new Float32Array([0.5, 2, -3]), [3]).to('cpu', 'float16');
    expect(h.dtype).toBe('float16');
    const back = await h.data();
    expect(back).toBeInstanceOf(Float32Array);
    expect(Array.from(back as ArrayLike<number>)).toEqual([0.5, 2, -3]);
    const bf = await Tensor.from(new Float32Array([1, 256]), [2]).to('cpu', 'bfloat16');
    expect(Array.from(bf.dataSync() as ArrayLike<number>)).toEqual([1, 256]);
  });

  test('async data() equals dataSync()', async () => {
    const t = Tensor.from(
      new Float32Array(1000).map((_, i) => i),
      [10, 100],
    );
    expect(Array.from((await t.data()) as ArrayLike<number>)).toEqual(Array.from(t.dataSync() as ArrayLike<number>));
  });

  test('empty tensors', () => {
    const t = Tensor.from(new Float32Array(0), [0, 3]);
    expect(t.shape).toEqual([0, 3]);
    expect(t.dataSync().length).toBe(0);
  });
});

describe('lifetime', () => {
  test('dispose is idempotent and later use throws ERR_DISPOSED', () => {
    const t = Tensor.from(new Float32Array(4), [4]);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.shape).toThrow(TorchError);
    expect(() => t.dataSync()).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });

  test('await using disposes', async () => {
    let kept: Tensor | undefined;
    {
      await using t = Tensor.from(new Float32Array(4), [4]);
      kept = t;
    }
    expect(kept.disposed).toBe(true);
  });
});

describe('bad calls are TypeErrors and RangeErrors raised before native code', () => {
  test('wrong array type', () => {
    expect(() => Tensor.from([1, 2] as unknown as Float32Array, [2])).toThrow(TypeError);
    expect(() => Tensor.from(new Uint16Array(2) as unknown as Float32Array, [2])).toThrow(/Float32Array/);
  });
  test('shape that does not hold the data', () => {
    expect(() => Tensor.from(new Float32Array(3), [2, 2])).toThrow(RangeError);
    expect(() => Tensor.from(new Float32Array(3), [2, 2])).toThrow(/data.length = 3/);
  });
  test('bad shape entries', () => {
    expect(() => Tensor.from(new Float32Array(2), [-2] as number[])).toThrow(TypeError);
    expect(() => Tensor.from(new Float32Array(2), [1.5] as number[])).toThrow(/non-negative integers/);
  });
  test('unknown dtype suggests a near miss', () => {
    expect(() => Tensor.from(new Float32Array(2), [2], 'flaot32' as 'float32')).toThrow(/did you mean "float32"/);
  });
  test('bad device strings', async () => {
    await expect(Tensor.from(new Float32Array(2), [2]).to('gpu' as 'cpu')).rejects.toThrow(RangeError);
  });
});

describe('devices and runtime', () => {
  test('runtime() describes LibTorch', () => {
    const info = runtime();
    expect(info.torchVersion).toMatch(/^\d+\.\d+/);
    expect(typeof info.cudaAvailable).toBe('boolean');
    expect(info.threads).toBeGreaterThan(0);
    expect(info.buildInfo.config.length).toBeGreaterThan(0);
  });

  test.skipIf(cudaAvailable())('asking for CUDA without CUDA is a clear TorchError, not a crash', async () => {
    const t = Tensor.from(new Float32Array(2), [2]);
    const err = await t.to('cuda:0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorchError);
    expect((err as TorchError).code).toBe('ERR_CUDA_UNAVAILABLE');
    expect((err as Error).message).toMatch(/CUDA is not available/);
    // the caller's stack, not the addon's
    expect((err as Error).stack).toMatch(/tensor\.test\.ts/);
  });

  test.runIf(cudaAvailable())('moves a tensor to CUDA and back', async () => {
    const t = Tensor.from(new Float32Array([1, 2, 3]), [3]);
    const g = await t.to('cuda');
    expect(g.device).toBe('cuda:0');
    expect(Array.from((await g.data()) as ArrayLike<number>)).toEqual([1, 2, 3]);
  });

  test('setNumThreads and manualSeed validate and apply', () => {
    const before = runtime().threads;
    setNumThreads(1);
    expect(runtime().threads).toBe(1);
    setNumThreads(before);
    expect(() => setNumThreads(0)).toThrow(RangeError);
    expect(() => manualSeed(-1)).toThrow(RangeError);
    expect(() => manualSeed(1.5)).toThrow(TypeError);
    manualSeed(42);
  });
});
