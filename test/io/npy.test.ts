// lib/io/npy.ts against NumPy itself: files numpy writes are read, files we write numpy.load reads
// back unchanged, and the files we do not read fail with a coded NpyError.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { NpyError, readNpy, writeNpy } from '../../lib/io/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'spottune-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const python = (code: string, ...args: string[]) => execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });

describe('readNpy reads what numpy writes', () => {
  // shape, dtype, format version: values are arange(n) * 0.25 - 3 (exact in float32)
  test.each([
    [[2, 3, 4], '<f4', [1, 0]],
    [[5], '<f4', [1, 0]],
    [[3, 2], '<f8', [1, 0]],
    [[2, 2, 2], '<f4', [2, 0]],
    [[4, 1], '<f8', [3, 0]],
    [[], '<f4', [1, 0]],
  ] as const)('shape %j, %s, format %j', async (shape, dtype, version) => {
    const path = join(dir, `np-${shape.join('x')}-${dtype.slice(1)}-${version[0]}.npy`);
    python(
      'import sys, json, numpy as np\n' +
        'shape = tuple(json.loads(sys.argv[2])); a = (np.arange(int(np.prod(shape))) * 0.25 - 3).astype(sys.argv[3]).reshape(shape)\n' +
        'with open(sys.argv[1], "wb") as f: np.lib.format.write_array(f, a, version=tuple(json.loads(sys.argv[4])))',
      path,
      JSON.stringify(shape),
      dtype,
      JSON.stringify(version),
    );
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    const got = await readNpy(path);
    expect(got.shape).toEqual(shape);
    expect(got.data).toEqual(Float32Array.from({ length: n }, (_, i) => i * 0.25 - 3));
  });

  test('float64 values round to the nearest float32', async () => {
    const path = join(dir, 'np-round.npy');
    python('import sys, numpy as np; np.save(sys.argv[1], np.array([0.1, 1/3, 1e-40, -2.5e38], dtype="<f8"))', path);
    expect((await readNpy(path)).data).toEqual(Float32Array.from([0.1, 1 / 3, 1e-40, -2.5e38]));
  });
});

describe('numpy reads what writeNpy writes', () => {
  test.each([[[2, 3]], [[7]], [[3, 1, 4, 2]], [[]]])('shape %j round-trips through numpy.load', async (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 1e3));
    const path = join(dir, `ours-${shape.join('x') || 'scalar'}.npy`);
    await writeNpy(path, data, shape);
    expect((readFileSync(path).readUInt16LE(8) + 10) % 64).toBe(0); // the data starts 64-byte aligned, as numpy writes
    expect(await readNpy(path)).toEqual({ data, shape });
    const seen = JSON.parse(
      python(
        'import sys, json, numpy as np; a = np.load(sys.argv[1]); print(json.dumps({"dtype": a.dtype.str, "shape": list(a.shape), "c": bool(a.flags.c_contiguous), "values": a.ravel().astype(float).tolist()}))',
        path,
      ),
    );
    expect(seen).toEqual({ dtype: '<f4', shape, c: true, values: Array.from(data) });
  });

  test('a subarray view writes only its own values', async () => {
    const base = Float32Array.from([9, 1, 2, 3, 9]);
    const path = join(dir, 'view.npy');
    await writeNpy(path, base.subarray(1, 4), [3]);
    expect((await readNpy(path)).data).toEqual(Float32Array.from([1, 2, 3]));
  });
});

describe('BAD CALL', () => {
  test('writeNpy rejects a wrong data type, a bad shape, or a shape that does not hold the data', async () => {
    const path = join(dir, 'bad.npy');
    await expect(writeNpy(path, new Float64Array(6) as never, [2, 3])).rejects.toThrow(TypeError);
    await expect(writeNpy(path, new Float32Array(6), [2, -3])).rejects.toThrow(/shape/);
    await expect(writeNpy(path, new Float32Array(5), [2, 3])).rejects.toThrow(RangeError);
  });

  const header = (dict: string) => {
    const text = dict + ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
    const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
    return Buffer.concat([prefix, Buffer.from(text, 'latin1')]);
  };
  test.each([
    ['not a .npy file', Buffer.from('hello world, not numpy'), 'ERR_NPY_FORMAT'],
    ['a malformed header', header("{'descr': '<f4', }"), 'ERR_NPY_FORMAT'],
    [
      'Fortran order',
      Buffer.concat([header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"), Buffer.alloc(16)]),
      'ERR_NPY_FORMAT',
    ],
    [
      'big-endian float32',
      Buffer.concat([header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), Buffer.alloc(8)]),
      'ERR_NPY_DTYPE',
    ],
    ['int16', Buffer.concat([header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }"), Buffer.alloc(4)]), 'ERR_NPY_DTYPE'],
    [
      'too few bytes',
      Buffer.concat([header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }"), Buffer.alloc(20)]),
      'ERR_NPY_TRUNCATED',
    ],
  ])('readNpy: %s -> %s', async (what, bytes, code) => {
    const path = join(dir, `bad-${what.replace(/\W+/g, '-')}.npy`);
    writeFileSync(path, bytes);
    const err = await readNpy(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NpyError);
    expect(err).toMatchObject({ code, path, name: 'NpyError' });
    expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
  });
});
