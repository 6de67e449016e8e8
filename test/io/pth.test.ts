import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CheckpointError } from '../../lib/native/errors.js';
import { PickleWriter } from '../../lib/io/pth/pickle-writer.js';
import { buildZip } from '../../lib/io/pth/zip.js';
import {
  encodePth,
  isHostTensor,
  loadPth,
  parsePth,
  PyFloat,
  pyTuple,
  readPth,
  savePth,
  stateDictOf,
  walkTensors,
  type PthTensor,
} from '../../lib/io/index.js';
import type { HostTensor } from '../../lib/types.js';

const fixtures = new URL('../fixtures/pth/', import.meta.url);
const fixture = (name: string) => new URL(name, fixtures).pathname;
const dir = mkdtempSync(join(tmpdir(), 'spottune-pth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs Debian's Python (with torch 1.13) and parses the JSON it prints. */
function py(code: string, ...args: string[]): any {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

function encodeNumber(x: number): number | string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return x;
}

/** The tree in the JSON form scripts/fixtures/pth/make_fixtures.py's describe() writes. */
function described(tree: unknown): unknown {
  if (isHostTensor(tree)) {
    const t = tree as PthTensor;
    const floating = ['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype);
    const values = Array.from(t.data as ArrayLike<number | bigint>, (v) =>
      t.dtype === 'bool' ? Number(v) : floating ? encodeNumber(Number(v)) : String(v),
    );
    return {
      __tensor__: true,
      dtype: t.dtype,
      shape: t.shape,
      stride: t.strides,
      offset: t.storageOffset,
      requires_grad: t.requiresGrad,
      values,
    };
  }
  if (tree instanceof Map) return { __dict__: [...tree].map(([k, v]) => [described(k), described(v)]) };
  if (Array.isArray(tree)) return Object.isFrozen(tree) ? { __tuple__: tree.map(described) } : tree.map(described);
  if (typeof tree === 'bigint') return { __int__: String(tree) };
  if (typeof tree === 'number') return Number.isInteger(tree) ? { __int__: String(tree) } : encodeNumber(tree);
  return tree;
}

const expectedDtypes = JSON.parse(readFileSync(fixture('dtypes.json'), 'utf8'));
const expectedSimple = JSON.parse(readFileSync(fixture('simple.json'), 'utf8'));

describe('loadPth reads what torch.save wrote', () => {
  test.each([
    ['dtypes_zip.pth', 'zip'],
    ['dtypes_legacy.pth', 'legacy'],
    ['dtypes_legacy_cuda.pth', 'legacy'],
    ['dtypes_zip_cuda.pth', 'zip'],
    ['dtypes_legacy_bigendian.pth', 'legacy'],
  ])('%s: every dtype, views, shared storages and containers equal torch.load', async (name, format) => {
    const file = await readPth(fixture(name));
    expect(file.format).toBe(format);
    expect(described(file.tree)).toEqual(expectedDtypes);
  });

  test.each(['simple_zip.pth', 'simple_zip_bigendian.pth', 'simple_other_name.pth'])('%s', async (name) => {
    const file = await readPth(readFileSync(fixture(name)));
    expect(described(file.tree)).toEqual(expectedSimple);
  });

  test('byte order and location are reported; CUDA storages load on the CPU', async () => {
    expect((await readPth(fixture('simple_zip_bigendian.pth'))).byteOrder).toBe('big');
    const legacyBig = await readPth(fixture('dtypes_legacy_bigendian.pth'));
    expect(legacyBig.sysInfo).toEqual({ littleEndian: false, typeSizes: { short: 2, int: 4, long: 4 } });
    const cuda = await readPth(fixture('dtypes_legacy_cuda.pth'));
    expect(new Set(cuda.tensors.map((t) => t.storage.location))).toEqual(new Set(['cuda:0']));
    const zip = await readPth(fixture('simple_other_name.pth'));
    expect(zip.archiveName).toBe('simple_other_name');
    expect(zip.version).toBe(3);
  });

  test('views of one storage come back as separate contiguous arrays', async () => {
    const sd = stateDictOf(await loadPth(fixture('dtypes_zip.pth')));
    const t = sd.get('base_t') as PthTensor;
    expect(t.shape).toEqual([6, 4]);
    expect(t.strides).toEqual([1, 6]);
    expect(Array.from(t.data as Float32Array).slice(0, 5)).toEqual([0, 6, 12, 18, 1]);
    expect(t.storage.key).toBe((sd.get('base') as PthTensor).storage.key);
    expect(t.data.buffer).not.toBe(sd.get('base')!.data.buffer);
    expect(sd.get('param')).toMatchObject({ requiresGrad: true });
  });

  test('read from a path, aligned contiguous tensors view the file buffer; copy: true or bytes copy', async () => {
    const viewed = stateDictOf(await loadPth(fixture('dtypes_zip.pth')));
    expect(viewed.get('base_row')!.data.buffer).toBe(viewed.get('base')!.data.buffer);
    expect(Array.from(viewed.get('base_row')!.data as Float32Array)).toEqual([12, 13, 14, 15, 16, 17]);
    // legacy storages sit at offsets set by the pickle's length: the file is read padded to align them
    const legacy = stateDictOf(await loadPth(fixture('dtypes_legacy.pth')));
    expect(legacy.get('float32')!.data.buffer).toBe(legacy.get('float64')!.data.buffer);
    expect(legacy.get('base_row')!.data.buffer).toBe(legacy.get('float32')!.data.buffer);
    const copied = stateDictOf(await loadPth(fixture('dtypes_zip.pth'), { copy: true }));
    expect(copied.get('base_row')!.data.buffer).not.toBe(copied.get('base')!.data.buffer);
    const bytes = readFileSync(fixture('dtypes_zip.pth'));
    const fromBytes = stateDictOf(await loadPth(bytes));
    expect(fromBytes.get('base')!.data.buffer).not.toBe(bytes.buffer);
    expect(fromBytes.get('base')!.data.byteOffset).toBe(0);
  });

  test('int64 narrows to Int32Array only when every value fits', async () => {
    const simple = stateDictOf(await loadPth(fixture('simple_zip.pth'), { int64: 'int32' }));
    expect(simple.get('b')!.data).toEqual(new Int32Array([1, -2, 3]));
    expect(simple.get('b')!.dtype).toBe('int64');
    await expect(loadPth(fixture('dtypes_zip.pth'), { int64: 'int32' })).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT_DTYPE',
      message: expect.stringMatching(/does not fit int32/),
    });
    const wide = stateDictOf(await loadPth(fixture('simple_zip.pth')));
    expect(wide.get('b')!.data).toEqual(new BigInt64Array([1n, -2n, 3n]));
  });

  test('float16 and bfloat16 widen exactly; halfAsFloat32 relabels them', async () => {
    const sd = stateDictOf(await loadPth(fixture('dtypes_zip.pth')));
    expect(sd.get('float16')!.dtype).toBe('float16');
    expect(sd.get('float16')!.data).toBeInstanceOf(Float32Array);
    const relabelled = stateDictOf(await loadPth(fixture('dtypes_zip.pth'), { halfAsFloat32: true }));
    expect(relabelled.get('bfloat16')!.dtype).toBe('float32');
  });

  test('stateDictOf finds the state dict and walkTensors every tensor', async () => {
    const tree = await loadPth(fixture('dtypes_legacy.pth'));
    expect([...stateDictOf(tree).keys()]).toContain('num_batches_tracked');
    const paths: string[] = [];
    walkTensors(tree, (path) => paths.push(path));
    expect(paths[0]).toBe('state_dict.float32');
    expect(() => stateDictOf(new Map([['x', 1]]))).toThrow(/No state dict/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => walkTensors(cyclic, () => {})).toThrow(RangeError);
  });
});

describe('loadPth refuses what could run code', () => {
  test.each([
    ['malicious_os_system.pth', /posix\.system/],
    ['malicious_os_system_legacy.pth', /posix\.system/],
    ['malicious_eval.pth', /__builtin__\.eval/],
    ['malicious_subprocess.pth', /commands\.Popen/],
    ['unknown_global.pth', /collections\.Counter/],
    ['reduce_string.pth', /Refused REDUCE of string/],
    ['build_list.pth', /Refused BUILD of/],
  ])('%s', async (name, message) => {
    const err = await loadPth(fixture(name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err).toMatchObject({ code: 'ERR_CHECKPOINT_UNSAFE', message: expect.stringMatching(message) });
    expect(existsSync('/tmp/spottune-pwned')).toBe(false);
  });

  test('a zip entry escaping the archive is refused', async () => {
    await expect(loadPth(fixture('zip_slip.pth'))).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT_CORRUPT',
      message: expect.stringMatching(/escapes the archive/),
    });
  });

  test('TorchScript archives, compressed entries and other files are told apart', async () => {
    const pkl = new PickleWriter().proto(2).op(0x7d).stop().finish();
    const script = Buffer.concat(
      buildZip([
        { name: 'm/data.pkl', data: pkl },
        { name: 'm/constants.pkl', data: pkl },
      ]),
    );
    await expect(loadPth(script)).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_FORMAT', message: expect.stringMatching(/TorchScript/) });
    await expect(loadPth(Buffer.from('hello world'))).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT_FORMAT',
      message: expect.stringMatching(/Not a PyTorch checkpoint/),
    });
    await expect(loadPth(new Uint8Array(0))).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_FORMAT' });
    await expect(loadPth(pkl)).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_FORMAT', message: expect.stringMatching(/legacy magic/) });
    const deflated = Buffer.from(Buffer.concat(buildZip([{ name: 'a/data.pkl', data: pkl }])));
    deflated.writeUInt16LE(8, deflated.indexOf(Buffer.from([0x50, 0x4b, 1, 2])) + 10);
    await expect(loadPth(deflated, { verifyChecksums: false })).rejects.toMatchObject({ message: expect.stringMatching(/compressed/) });
  });

  test('every truncation of a valid file is a CheckpointError', () => {
    for (const name of ['simple_zip.pth', 'dtypes_legacy.pth']) {
      const bytes = readFileSync(fixture(name));
      for (let n = 0; n < bytes.length; n++) {
        expect(() => parsePth(bytes.subarray(0, n)), `${name} cut at ${n}`).toThrow(CheckpointError);
      }
    }
  });

  /** A zip checkpoint of one tensor over a `numel`-element float storage, with any size/stride. */
  function tensorFile(numel: number, size: number[], stride: number[], offset = 0, storageBytes = numel * 4): Uint8Array {
    const w = new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(numel).op(0x74).op(0x51);
    w.int(offset).mark();
    size.forEach((s) => w.int(s));
    w.op(0x74).mark();
    stride.forEach((s) => w.int(s));
    w.op(0x74).bool(false).none().op(0x74).op(0x52).stop();
    return Buffer.concat(
      buildZip([
        { name: 'a/data.pkl', data: w.finish() },
        { name: 'a/data/0', data: new Uint8Array(storageBytes) },
      ]),
    );
  }

  test('absurd shapes and out-of-storage views are refused before allocating', () => {
    expect(() => parsePth(tensorFile(4, [2, 2], [2, 1]))).not.toThrow();
    expect(() => parsePth(tensorFile(1, [1e6, 1e6], [0, 0]))).toThrow(/allocation limit/);
    expect(() => parsePth(tensorFile(1, [2 ** 40, 2 ** 40, 2 ** 40], [0, 0, 0]))).toThrow(/allocation limit/);
    expect(() => parsePth(tensorFile(4, [2, 3], [3, 1]))).toThrow(/reaches element 5 of storage 0, which has 4/);
    expect(() => parsePth(tensorFile(4, [4], [1], 1))).toThrow(/reaches element/);
    expect(() => parsePth(tensorFile(1, [100, 100], [0, 0]), { maxBytes: 1000 })).toThrow(/allocation limit/);
  });

  test('a storage whose declared size disagrees with the archive is refused', () => {
    expect(() => parsePth(tensorFile(4, [4], [1], 0, 12))).toThrow(/holds 12 bytes but the pickle declares 16/);
  });
});

describe('savePth writes what torch.load opens', () => {
  const tensor = (dtype: HostTensor['dtype'], shape: number[], data: HostTensor['data']): HostTensor => ({ dtype, shape, data });
  const shared = new Float32Array([1, 2, 3, 4, 5, 6]);
  const stateDict = new Map<string, HostTensor>([
    ['conv.weight', tensor('float32', [2, 3], shared)],
    ['conv.weight_alias', tensor('float32', [6], shared)],
    ['f64', tensor('float64', [2], new Float64Array([Math.PI, -1e300]))],
    ['f16', tensor('float16', [4], new Float32Array([1, -2.5, 65504, 1e-7]))],
    ['bf16', tensor('bfloat16', [3], new Float32Array([1, -3.140625, 1e30]))],
    ['i64', tensor('int64', [3], new BigInt64Array([0n, -(2n ** 62n), 2n ** 63n - 1n]))],
    ['i64_from_int32', tensor('int64', [2], new Int32Array([7, -8]))],
    ['i32', tensor('int32', [1, 2], new Int32Array([-(2 ** 31), 5]))],
    ['i16', tensor('int16', [2], new Int16Array([-1, 300]))],
    ['i8', tensor('int8', [2], new Int8Array([-128, 127]))],
    ['u8', tensor('uint8', [2], new Uint8Array([0, 255]))],
    ['mask', tensor('bool', [3], new Uint8Array([1, 0, 1]))],
    ['scalar', tensor('float32', [], new Float32Array([0.5]))],
    ['empty', tensor('float32', [0, 4], new Float32Array(0))],
  ]);
  const tree = new Map<string, unknown>([
    ['state_dict', stateDict],
    ['epoch', 12],
    ['name', 'résumé ✓'],
    ['history', [1, 2, pyTuple([3, 'x']), null, true]],
    ['plain', { a: 1, b: [2n ** 70n] }],
  ]);

  test('round trip through loadPth', async () => {
    const path = join(dir, 'round.pth');
    await savePth(path, new Map([...tree, ['lr', 1e-5], ['loss', new PyFloat(2)]]));
    const back = (await loadPth(path)) as Map<string, unknown>;
    const sd = stateDictOf(back);
    for (const [k, t] of stateDict) {
      expect(sd.get(k)!.shape, k).toEqual(t.shape);
      expect(sd.get(k)!.dtype, k).toBe(t.dtype);
    }
    expect(sd.get('conv.weight')!.data).toEqual(shared);
    expect(sd.get('f16')!.data).toEqual(new Float32Array([1, -2.5, 65504, 1.1920928955078125e-7]));
    expect(sd.get('i64_from_int32')!.data).toEqual(new BigInt64Array([7n, -8n]));
    expect((sd.get('conv.weight') as PthTensor).storage.key).toBe((sd.get('conv.weight_alias') as PthTensor).storage.key);
    expect(back.get('lr')).toBe(1e-5);
    expect(back.get('loss')).toBe(2);
    expect(back.get('plain')).toEqual(
      new Map<string, unknown>([
        ['a', 1],
        ['b', [2n ** 70n]],
      ]),
    );
    expect(back.get('history')).toEqual([1, 2, [3, 'x'], null, true]);
    expect(Object.isFrozen((back.get('history') as unknown[])[2])).toBe(true);
  });

  test('torch.load(weights_only=True) of torch 1.13 reads equal tensors', async () => {
    const path = join(dir, 'for-torch.pth');
    await savePth(path, tree);
    const out = py(
      `
import sys, json, torch
t = torch.load(sys.argv[1], weights_only=True)
sd = t['state_dict']
def vals(x):
    x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in x.reshape(-1).tolist()]
print(json.dumps({
  'type': type(t).__name__, 'sd_type': type(sd).__name__, 'epoch': t['epoch'], 'name': t['name'],
  'history': repr(t['history']), 'plain': repr(t['plain']),
  'shared': sd['conv.weight'].storage().data_ptr() == sd['conv.weight_alias'].storage().data_ptr(),
  'tensors': {k: [str(v.dtype), list(v.shape), vals(v)] for k, v in sd.items()},
}))
`,
      path,
    );
    expect(out).toMatchObject({ type: 'OrderedDict', sd_type: 'OrderedDict', epoch: 12, name: 'résumé ✓', shared: true });
    expect(out.history).toBe("[1, 2, (3, 'x'), None, True]");
    expect(out.plain).toBe(`{'a': 1, 'b': [${2n ** 70n}]}`);
    const back = stateDictOf(await loadPth(path));
    for (const [k, [dtype, shape, values]] of Object.entries(out.tensors as Record<string, [string, number[], unknown[]]>)) {
      const t = back.get(k)!;
      expect(dtype, k).toBe(`torch.${t.dtype}`);
      expect(shape, k).toEqual(t.shape);
      expect(values, k).toEqual(
        Array.from(t.data as ArrayLike<number | bigint>, (v) =>
          typeof v === 'bigint' || !['float32', 'float64', 'float16', 'bfloat16', 'bool'].includes(t.dtype)
            ? String(v)
            : t.dtype === 'bool'
              ? Boolean(v)
              : v,
        ),
      );
    }
  });

  test('floats need torch >= 2.x or weights_only=False under torch 1.13', async () => {
    const path = join(dir, 'floats.pth');
    await savePth(path, { lr: 0.5, w: tensor('float32', [1], new Float32Array([1])) });
    expect(py(`import sys, json, torch; print(json.dumps(torch.load(sys.argv[1])['lr']))`, path)).toBe(0.5);
  });

  test('BAD CALL: values that cannot be saved name their path', async () => {
    expect(() => encodePth({ a: { b: new Date() } })).toThrow(/at <root>\.a\.b/);
    expect(() => encodePth({ w: tensor('float32', [2, 2], new Float32Array(3)) })).toThrow(RangeError);
    expect(() => encodePth({ w: tensor('float32', [2], new BigInt64Array(2)) })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodePth(cyclic)).toThrow(/cycle/);
    await expect(savePth('', {})).rejects.toThrow(TypeError);
    expect(() => encodePth({}, { archiveName: '../x' })).toThrow(RangeError);
  });

  test('writes are atomic: no temporary file is left beside the checkpoint', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    await savePth(join(sub, 'a.pth'), { x: 1 });
    writeFileSync(join(sub, 'keep'), '');
    expect(readFileSync(join(sub, 'a.pth')).subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04', 'latin1'));
    expect(
      execFileSync('ls', ['-a', sub], { encoding: 'utf8' })
        .split('\n')
        .filter((f) => f.endsWith('.tmp')),
    ).toEqual([]);
  });
});
