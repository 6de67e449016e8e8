// Values that once slipped through or broke the error path itself: BigInts in messages (a .pth's
// sizes of 2^53 or more made describeValue throw "Do not know how to serialize a BigInt"), 'bool'
// bytes other than 0 and 1, and typed arrays on a SharedArrayBuffer (Node-API refused them as
// "Invalid argument"; they are now copied like any other view).
import { describe, expect, test } from 'vitest';
import { Tensor } from '../../lib/tensor.js';
import { describeValue } from '../../lib/util/validate.js';
import { encodePth, loadPth } from '../../lib/io/index.js';
import { buildZip, readZipDirectory, zipEntryData } from '../../lib/io/pth/zip.js';
import { createResNet3d } from '../../lib/models/network.js';
import { requireNative } from '../helpers/native.js';

requireNative();

function onShared<T extends Float32Array | Uint8Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer, offset: number, length: number) => T;
  const view = new Ctor(new SharedArrayBuffer(a.byteLength + 8), 8, a.length); // a byteOffset too
  view.set(a as never);
  return view;
}

describe('BigInts on error paths', () => {
  test('describeValue shows BigInts, alone and in arrays, and never throws', () => {
    expect(describeValue(2n ** 53n)).toBe('9007199254740992n (bigint)');
    expect(describeValue([2n ** 53n, 1n])).toBe('[9007199254740992n, 1n] (array)');
    expect(describeValue([undefined, Symbol('s'), () => 1])).toBe('[undefined, Symbol(s), () => 1] (array)');
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(describeValue([cyclic])).toBe('[[...]] (array)');
    expect(describeValue(Symbol('t'))).toBe('Symbol(t) (symbol)');
  });

  test('Tensor.from([1n, 2n], [2]) is a TypeError showing the BigInts', () => {
    expect(() => Tensor.from([1n, 2n] as never, [2])).toThrow(TypeError);
    expect(() => Tensor.from([1n, 2n] as never, [2])).toThrow(/\[1n, 2n\] \(array\)/);
  });

  test('a .pth whose sizes hold 2^53 is a CheckpointError that shows them', async () => {
    // encodePth refuses such a shape, so the pickle of a [2^52, 0] tensor is patched to [2^53, 0]
    const parts = encodePth(new Map([['w', { dtype: 'float32', shape: [2 ** 52, 0], data: new Float32Array(0) }]]));
    const bytes = new Uint8Array(Buffer.concat(parts));
    const files = [...readZipDirectory(bytes)].map(([name, e]) => {
      const data = zipEntryData(bytes, e);
      if (!name.endsWith('data.pkl')) return { name, data };
      const hex = Buffer.from(data).toString('hex');
      const [from, to] = ['8a0700000000000010', '8a0700000000000020']; // LONG1 2^52 -> 2^53
      expect(hex).toContain(from);
      return { name, data: new Uint8Array(Buffer.from(hex.replace(from, to), 'hex')) };
    });
    const err = await loadPth(new Uint8Array(Buffer.concat(buildZip(files)))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CHECKPOINT_CORRUPT', message: expect.stringMatching(/size \[9007199254740992n, 0\]/) });
  });
});

describe("'bool' data", () => {
  test('bytes other than 0 and 1 are a RangeError naming the first', () => {
    expect(() => Tensor.from(new Uint8Array([0, 1, 2]), [3], 'bool')).toThrow(/data\[2\] is 2/);
    expect(() => Tensor.from(new Uint8Array([255]), [1], 'bool')).toThrow(RangeError);
    const t = Tensor.from(new Uint8Array([0, 1, 1]), [3], 'bool');
    expect(t.dtype).toBe('bool');
    expect([...(t.dataSync() as Uint8Array)]).toEqual([0, 1, 1]);
    t.dispose();
    // uint8 keeps every byte
    expect([...(Tensor.from(new Uint8Array([2, 255]), [2]).dataSync() as Uint8Array)]).toEqual([2, 255]);
  });
});

describe('typed arrays on a SharedArrayBuffer', () => {
  test('Tensor.from copies them like any other view (byteOffset honoured)', () => {
    const data = onShared(new Float32Array([1, 2, 3, 4]));
    const t = Tensor.from(data, [2, 2]);
    expect([...(t.dataSync() as Float32Array)]).toEqual([1, 2, 3, 4]);
    data[0] = 9; // a copy: the tensor does not see later writes
    expect((t.dataSync() as Float32Array)[0]).toBe(1);
    t.dispose();
  });

  test('a network predicts and trains on them exactly as on ordinary arrays', async () => {
    await using a = await createResNet3d({ depth: 10 });
    await using b = await createResNet3d({ depth: 10 });
    const shape = [2, 1, 8, 8, 8];
    const x = new Float32Array(2 * 512).map((_, i) => Math.cos(i / 7));
    const labels = new Float32Array([1, 0]);
    const pa = await a.predict(x, shape);
    const pb = await b.predict(onShared(x), shape);
    expect(pb.logits).toEqual(pa.logits);
    const ta = await a.trainStep(x, shape, labels, { seed: 1, tau: 1 });
    const tb = await b.trainStep(onShared(x), shape, onShared(labels), { seed: 1, tau: 1 });
    expect(tb.loss).toBe(ta.loss);
  });
});
