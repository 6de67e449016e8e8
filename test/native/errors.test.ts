import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, test } from 'vitest';
import { Tensor, TorchError, conv3d } from '../../lib/index.js';
import { requireNative } from '../helpers/native.js';

requireNative();

describe('LibTorch exceptions become JS errors', () => {
  test('a c10::Error inside a worker rejects with a TorchError carrying the message and the caller stack', async () => {
    const input = Tensor.from(new Float32Array(1 * 1 * 2 * 2 * 2), [1, 1, 2, 2, 2]);
    const weight = Tensor.from(new Float32Array(1 * 1 * 3 * 3 * 3), [1, 1, 3, 3, 3]);
    const err = await conv3d(input, weight).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorchError);
    expect((err as TorchError).code).toBe('ERR_TORCH');
    expect((err as Error).message).toMatch(/[Kk]ernel size/);
    expect((err as Error).message).not.toMatch(/Exception raised from/); // no C++ backtrace
    expect((err as Error).stack).toMatch(/errors\.test\.ts/);
  });

  test('arguments are checked in TypeScript before native code', async () => {
    const five = Tensor.from(new Float32Array(8), [1, 1, 2, 2, 2]);
    const four = Tensor.from(new Float32Array(8), [1, 2, 2, 2]);
    await expect(conv3d(four, five)).rejects.toThrow(RangeError);
    await expect(conv3d(four, five)).rejects.toThrow(/\[N, C, D, H, W\]/);
    await expect(conv3d(five, five, null, { stride: 0 })).rejects.toThrow(/options.stride/);
    await expect(conv3d({} as Tensor, five)).rejects.toThrow(TypeError);
  });

  test('conv3d matches a hand computation', async () => {
    // all-ones 3x3x3 input and kernel, padding 1: the centre sees 27 ones, a corner 8
    const input = Tensor.from(new Float32Array(27).fill(1), [1, 1, 3, 3, 3]);
    const weight = Tensor.from(new Float32Array(27).fill(1), [1, 1, 3, 3, 3]);
    const out = await conv3d(input, weight, Tensor.from(new Float32Array([0.5]), [1]), { padding: 1 });
    expect(out.shape).toEqual([1, 1, 3, 3, 3]);
    const data = out.dataSync() as Float32Array;
    expect(data[13]).toBe(27.5);
    expect(data[0]).toBe(8.5);
  });
});

describe('long calls leave the event loop free', () => {
  test('the event loop keeps ticking while a large convolution runs', async () => {
    // Ticks of a 10 ms timer and the loop's largest delay while `work` runs.
    const observe = async (work: () => Promise<unknown>) => {
      const histogram = monitorEventLoopDelay({ resolution: 5 });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      histogram.enable();
      const started = performance.now();
      await work();
      const elapsed = performance.now() - started;
      histogram.disable();
      clearInterval(timer);
      return { ticks, elapsed, maxDelayMs: histogram.max / 1e6 };
    };
    // [1, 16, D, 64, 64] * [32, 16, 5, 5, 5], D doubled until the call spans at least 20 timer
    // periods on this machine, so that "long" holds on a fast CPU and on a loaded one alike
    const weight = Tensor.from(new Float32Array(32 * 16 * 125).fill(0.01), [32, 16, 5, 5, 5]);
    let conv = { ticks: 0, elapsed: 0, maxDelayMs: 0 };
    for (let depth = 48; depth <= 384 && conv.elapsed < 200; depth *= 2) {
      const input = Tensor.from(new Float32Array(16 * depth * 64 * 64).fill(0.5), [1, 16, depth, 64, 64]);
      conv = await observe(async () => {
        const out = await conv3d(input, weight, null, { padding: 2 });
        expect(out.shape).toEqual([1, 32, depth, 64, 64]);
        out.dispose();
      });
      input.dispose();
    }
    expect(conv.elapsed).toBeGreaterThanOrEqual(200); // the work really was long
    // the same timer during an idle wait as long: what this machine's loop manages under its load
    const idle = await observe(() => new Promise((r) => setTimeout(r, conv.elapsed)));
    // a blocked loop would show one delay as long as the convolution and almost no ticks
    expect(conv.maxDelayMs).toBeLessThan(Math.max(100, conv.elapsed / 3));
    expect(conv.ticks).toBeGreaterThanOrEqual(idle.ticks / 4);
  });
});
