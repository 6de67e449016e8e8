import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { NiftiError, readNifti, readNiftiHeader, writeNifti, type Volume, type VoxelArray, type VoxelDType } from '../../lib/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'spottune-nifti-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs Python (Debian's, with nibabel) and parses the JSON it prints. */
function py(code: string, ...args: string[]): any {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' }));
}

const shape: [number, number, number] = [3, 4, 5]; // nz, ny, nx
const affine = [
  [0, 0, -1.5, 10],
  [2, 0, 0, -20.25],
  [0, -1, 0, 30],
  [0, 0, 0, 1],
]; // a rotation with a flip and anisotropic voxels: exercises qfac and the quaternion

function values(n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, (_, i) => lo + Math.round(((hi - lo) * ((i * 37) % n)) / (n - 1)));
}

const TYPES: Array<[VoxelDType, VoxelArray]> = [
  ['uint8', Uint8Array.from(values(60, 0, 255))],
  ['int8', Int8Array.from(values(60, -128, 127))],
  ['int16', Int16Array.from(values(60, -32768, 32767))],
  ['uint16', Uint16Array.from(values(60, 0, 65535))],
  ['int32', Int32Array.from(values(60, -2_000_000_000, 2_000_000_000))],
  ['uint32', Uint32Array.from(values(60, 0, 4_000_000_000))],
  ['float32', Float32Array.from(values(60, -1000, 1000), (v) => v / 7)],
  ['float64', Float64Array.from(values(60, -1000, 1000), (v) => v / 7)],
];

const NIB_READ = `
import sys, json, numpy as np, nibabel as nib
img = nib.load(sys.argv[1])
raw = np.asarray(img.dataobj)
zyx = np.transpose(raw, (2, 1, 0))  # nibabel (x, y, z) -> stored buffer order (z, y, x)
expected = np.fromfile(sys.argv[2], dtype='<f8').reshape(zyx.shape)
print(json.dumps({"dtype": str(img.get_data_dtype()), "shape": list(zyx.shape), "maxdiff": float(np.max(np.abs(zyx.astype(np.float64) - expected))),
  "affine": img.affine.tolist(), "version": 2 if isinstance(img, nib.Nifti2Image) else 1, "zooms": [float(z) for z in img.header.get_zooms()]}))
`;

describe('writeNifti files open in nibabel with equal data and affine', () => {
  test.each(
    TYPES.flatMap(([dtype, data]) => [1, 2].flatMap((version) => ['.nii', '.nii.gz'].map((ext) => ({ dtype, data, version, ext })))),
  )('$dtype, NIfTI-$version, $ext', async ({ dtype, data, version, ext }) => {
    const path = join(dir, `w-${dtype}-${version}${ext}`);
    await writeNifti(path, { data, shape, spacing: [1.5, 1, 2], affine }, { version: version as 1 | 2 });
    const expected = join(dir, `w-${dtype}-${version}.f64`);
    writeFileSync(expected, Buffer.from(Float64Array.from(data).buffer));
    const r = py(NIB_READ, path, expected);
    expect(r.dtype).toBe(dtype);
    expect(r.shape).toEqual(shape);
    expect(r.maxdiff).toBe(0);
    expect(r.version).toBe(version);
    const f = version === 1 ? Math.fround : (x: number) => x; // NIfTI-1 stores the sform as float32
    expect(r.affine).toEqual(affine.map((row) => row.map(f)));
    expect(r.zooms).toEqual([2, 1, 1.5]); // pixdim comes from the affine's column norms
    // and back through readNifti
    const back = await readNifti(path);
    expect(back.shape).toEqual(shape);
    expect(back.spacing).toEqual([1.5, 1, 2]);
    expect(back.header.dtype).toBe(dtype);
    expect(Array.from(back.data)).toEqual(Array.from(data, (v) => Math.fround(v)));
    expect(back.affine).toEqual(affine.map((row) => row.map(f)));
  });

  test('a 4-D file: the first volume by default, another when asked; converting to int16 rounds and clamps', async () => {
    const path = join(dir, 'four-d.nii.gz');
    const a = Float32Array.from({ length: 60 }, (_, i) => i + 0.4);
    const b = Float32Array.from({ length: 60 }, (_, i) => -i * 1000);
    await writeNifti(
      path,
      [
        { data: a, shape, spacing: [1, 1, 1], affine },
        { data: b, shape, spacing: [1, 1, 1], affine },
      ],
      { dtype: 'int16' },
    );
    const first = await readNifti(path);
    expect(first.volumes).toBe(2);
    expect(Array.from(first.data)).toEqual(Array.from(a, Math.round));
    const second = await readNifti(path, { volume: 1 });
    expect(Array.from(second.data)).toEqual(Array.from(b, (v) => Math.max(v, -32768) + 0));
    await expect(readNifti(path, { volume: 2 })).rejects.toThrow(RangeError);
    const r = py(`import sys, json, nibabel as nib; img = nib.load(sys.argv[1]); print(json.dumps(list(img.shape)))`, path);
    expect(r).toEqual([5, 4, 3, 2]);
  });
});

describe('readNifti reads what nibabel writes', () => {
  test.each([
    ['float32', 'little', '.nii.gz'],
    ['int16', 'big', '.nii'],
    ['uint8', 'little', '.nii'],
    ['float64', 'big', '.nii.gz'],
  ])('%s, %s-endian, %s, with scl_slope/scl_inter, sform and qform', async (dtype, endian, ext) => {
    const path = join(dir, `nib-${dtype}-${endian}${ext}`);
    const r = py(
      `
import sys, json, numpy as np, nibabel as nib
dtype, endian, path = sys.argv[1], sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
arr = (rng.random((6, 5, 4)) * 100).astype(dtype)  # (x, y, z)
hdr = nib.Nifti1Header(endianness='>' if endian == 'big' else '<')
aff = np.array([[-1.2, 0, 0, 90], [0, 1.2, 0, -126], [0, 0, 2.5, -72], [0, 0, 0, 1]])
img = nib.Nifti1Image(arr, aff, header=hdr)
img.header.set_slope_inter(0.5, 3.0)
img.set_qform(aff, code=1); img.set_sform(aff, code=2)
nib.save(img, path)
img = nib.load(path)
print(json.dumps({"data": np.transpose(img.get_fdata(), (2, 1, 0)).ravel().tolist(), "affine": img.affine.tolist()}))
`,
      dtype,
      endian,
      path,
    );
    const v = await readNifti(path);
    expect(v.shape).toEqual([4, 5, 6]);
    expect(v.spacing.map((x) => Math.fround(x))).toEqual([2.5, 1.2, 1.2].map(Math.fround));
    expect(v.scaled).toBe(true);
    expect(v.header.littleEndian).toBe(endian === 'little');
    const want = r.data as number[];
    expect(v.data.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(v.data[i]).toBeCloseTo(want[i], 4);
    expect(v.affine).toEqual(r.affine);
  });

  test('a qform-only file: the affine comes from the quaternion, as in nibabel', async () => {
    const path = join(dir, 'qform-only.nii');
    const r = py(
      `
import sys, json, numpy as np, nibabel as nib
from nibabel.eulerangles import euler2mat
R = euler2mat(0.3, -0.2, 0.1)
aff = np.eye(4); aff[:3, :3] = R @ np.diag([1.5, 2.0, -3.0]); aff[:3, 3] = [5, -6, 7]
img = nib.Nifti1Image(np.zeros((2, 3, 4), 'float32'), None)
img.set_qform(aff, code=1); img.set_sform(None, code=0)
nib.save(img, sys.argv[1])
print(json.dumps(nib.load(sys.argv[1]).affine.tolist()))
`,
      path,
    );
    const v = await readNifti(path);
    expect(v.header.sformCode).toBe(0);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(v.affine[i][j]).toBeCloseTo(r[i][j], 5);
  });

  test("axisOrder 'ijk' gives nibabel's array order; writing it back restores the file", async () => {
    const path = join(dir, 'ijk.nii.gz');
    const data = Float32Array.from({ length: 60 }, (_, i) => i);
    await writeNifti(path, { data, shape, spacing: [3, 2, 1], affine });
    const ijk = await readNifti(path, { axisOrder: 'ijk' });
    expect(ijk.shape).toEqual([5, 4, 3]);
    expect(ijk.spacing).toEqual([2, 1, 1.5]);
    const r = py(
      `import sys, json, numpy as np, nibabel as nib; print(json.dumps(np.asarray(nib.load(sys.argv[1]).dataobj).ravel().tolist()))`,
      path,
    );
    expect(Array.from(ijk.data)).toEqual(r);
    const again = join(dir, 'ijk-again.nii');
    await writeNifti(again, ijk, { axisOrder: 'ijk' });
    expect(Array.from((await readNifti(again)).data)).toEqual(Array.from(data));
  });
});

describe('BAD CALLs and bad files', () => {
  test('RGB is rejected with a clear error', async () => {
    const ok = join(dir, 'rgb-base.nii');
    await writeNifti(ok, { data: new Uint8Array(60), shape, spacing: [1, 1, 1], affine });
    const bytes = readFileSync(ok);
    bytes.writeInt16LE(128, 70); // datatype RGB24
    bytes.writeInt16LE(24, 72);
    const path = join(dir, 'rgb.nii.gz');
    writeFileSync(path, gzipSync(bytes));
    const err = await readNifti(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NiftiError);
    expect((err as NiftiError).code).toBe('ERR_NIFTI_DATATYPE');
    expect((err as Error).message).toMatch(/RGB24 \(128\) is not supported/);
  });

  test('a truncated file and a non-NIfTI file', async () => {
    const ok = join(dir, 'trunc-base.nii');
    await writeNifti(ok, { data: new Float32Array(60), shape, spacing: [1, 1, 1], affine });
    const path = join(dir, 'trunc.nii');
    writeFileSync(path, readFileSync(ok).subarray(0, 400));
    await expect(readNifti(path)).rejects.toMatchObject({ code: 'ERR_NIFTI_TRUNCATED' });
    const junk = join(dir, 'junk.nii');
    writeFileSync(junk, Buffer.alloc(1000, 7));
    await expect(readNifti(junk)).rejects.toMatchObject({ code: 'ERR_NIFTI_FORMAT' });
    expect((await readNiftiHeader(ok)).dims.slice(0, 4)).toEqual([3, 5, 4, 3]);
  });

  test('malformed volumes and options name the argument', async () => {
    const v: Volume<VoxelArray> = { data: new Float32Array(59), shape, spacing: [1, 1, 1], affine };
    await expect(writeNifti(join(dir, 'x.nii'), v)).rejects.toThrow(/volume.data to hold 60 voxels/);
    await expect(writeNifti(join(dir, 'x.nii'), { ...v, data: new Float32Array(60) }, { compressionLevel: 0 })).rejects.toThrow(
      /options.compressionLevel/,
    );
    await expect(readNifti(join(dir, 'x.nii'), { axisOrder: 'kjj' as never })).rejects.toThrow(/did you mean/);
  });
});
