// readNiftiRaw's two ways of inflating a .nii.gz (the whole file in one call, or streamed up to the
// wanted volume) give nibabel's voxels, and a cut-off or damaged gzip stream is a clear NiftiError.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { NiftiError, readNiftiHeader, readNiftiRaw, writeNifti } from '../../lib/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'spottune-inflate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape: [number, number, number] = [6, 7, 9];
const n = shape[0] * shape[1] * shape[2];
const affine = [
  [1.5, 0, 0, -3],
  [0, 1, 0, 4],
  [0, 0, 2, 5],
  [0, 0, 0, 1],
];
const vol = (k: number) => Int16Array.from({ length: n }, (_, i) => ((i * 7919 + k * 104729) % 20011) - 10000);
const path4d = join(dir, 'four.nii.gz');
const volumes = 5;

/** nibabel's voxels of volume `k`, in the stored (z, y, x) order, as float64 bytes. */
function nibabel(path: string, k: number): number[] {
  const code = `
import sys, numpy as np, nibabel as nib
raw = np.asarray(nib.load(sys.argv[1]).dataobj.get_unscaled())
v = raw[..., int(sys.argv[2])] if raw.ndim == 4 else raw
sys.stdout.buffer.write(np.ascontiguousarray(np.transpose(v, (2, 1, 0))).astype('<f8').tobytes())`;
  const out = execFileSync('/usr/bin/python3', ['-c', code, path, String(k)]);
  return Array.from(new Float64Array(out.buffer, out.byteOffset, out.byteLength / 8));
}

describe('whole-file and streamed inflation', () => {
  test('every volume of a 4-D .nii.gz equals nibabel, whichever way it is inflated', async () => {
    await writeNifti(
      path4d,
      Array.from({ length: volumes }, (_, k) => ({ data: vol(k), shape, spacing: [1, 1, 1], affine })),
    );
    for (let k = 0; k < volumes; k++) {
      const want = nibabel(path4d, k);
      for (const inflate of ['whole', 'stream', 'auto'] as const) {
        const v = await readNiftiRaw(path4d, { volume: k, inflate });
        expect(v.shape).toEqual(shape);
        expect(v.volumes).toBe(volumes);
        expect(v.stored).toBeInstanceOf(Int16Array);
        expect(Array.from(v.stored)).toEqual(want);
      }
    }
  });

  test('the voxels are a typed array of the stored type, aligned, with the scaling still to apply', async () => {
    const path = join(dir, 'f32.nii.gz');
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
    await writeNifti(path, { data, shape, spacing: [1, 1, 1], affine }, { sclSlope: 2, sclInter: 1 });
    for (const inflate of ['whole', 'stream'] as const) {
      const v = await readNiftiRaw(path, { inflate });
      expect(v.stored).toBeInstanceOf(Float32Array);
      expect(v.stored.byteOffset % 4).toBe(0);
      expect(Array.from(v.stored)).toEqual(Array.from(data));
      expect([v.slope, v.inter, v.scaled]).toEqual([2, 1, true]);
    }
    expect(nibabel(path, 0)).toEqual(Array.from(data));
  });

  test('an uncompressed .nii reads only the wanted volume', async () => {
    const path = join(dir, 'four.nii');
    await writeNifti(
      path,
      Array.from({ length: 3 }, (_, k) => ({ data: vol(k), shape, spacing: [1, 1, 1], affine })),
    );
    expect(Array.from((await readNiftiRaw(path, { volume: 2 })).stored)).toEqual(nibabel(path, 2));
  });

  test('a header whose gzip holds an extra field and a name (the header is found past them)', async () => {
    const plain = join(dir, 'plain.nii');
    await writeNifti(plain, { data: vol(1), shape, spacing: [1, 1, 1], affine });
    const body = gzipSync(readFileSync(plain));
    // FLG.FEXTRA | FLG.FNAME: a 2000-byte extra field and a file name between the gzip header and the data
    const extra = Buffer.alloc(2000, 0x41);
    const name = Buffer.from('plain.nii\0', 'latin1');
    const head = Buffer.from(body.subarray(0, 10));
    head[3] = 0x04 | 0x08;
    const xlen = Buffer.alloc(2);
    xlen.writeUInt16LE(extra.length);
    const path = join(dir, 'extra.nii.gz');
    writeFileSync(path, Buffer.concat([head, xlen, extra, name, body.subarray(10)]));
    expect((await readNiftiHeader(path)).dims.slice(0, 4)).toEqual([3, 9, 7, 6]);
    expect(Array.from((await readNiftiRaw(path)).stored)).toEqual(nibabel(plain, 0));
  });
});

describe('damaged .nii.gz files', () => {
  test('a gzip stream cut off in the voxels is ERR_NIFTI_TRUNCATED, both ways', async () => {
    const bytes = readFileSync(path4d);
    const path = join(dir, 'cut.nii.gz');
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    for (const inflate of ['whole', 'stream'] as const) {
      const err = await readNiftiRaw(path, { volume: volumes - 1, inflate }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NiftiError);
      expect(err).toMatchObject({ code: 'ERR_NIFTI_TRUNCATED' });
      expect((err as Error).message).toContain(path);
    }
    // the header alone is still readable
    expect((await readNiftiHeader(path)).dims[4]).toBe(volumes);
  });

  test('a damaged gzip body or trailer is ERR_NIFTI_FORMAT naming the gzip error', async () => {
    const bytes = Buffer.from(readFileSync(path4d));
    const crc = Buffer.from(bytes);
    crc[crc.length - 8] ^= 0xff; // the CRC-32 of the trailer
    const path = join(dir, 'crc.nii.gz');
    writeFileSync(path, crc);
    const err = await readNiftiRaw(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NiftiError);
    expect(err).toMatchObject({ code: 'ERR_NIFTI_FORMAT' });
    expect((err as Error).message).toMatch(/corrupt gzip data \(.*check/);
    const junk = Buffer.from(bytes);
    junk.fill(0xff, 200, 260); // inside the deflate stream, past the header
    writeFileSync(path, junk);
    await expect(readNiftiRaw(path)).rejects.toMatchObject({
      name: 'NiftiError',
      code: expect.stringMatching(/ERR_NIFTI_(FORMAT|TRUNCATED)/),
    });
    writeFileSync(path, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
    await expect(readNiftiRaw(path)).rejects.toMatchObject({ name: 'NiftiError', code: 'ERR_NIFTI_FORMAT' });
  });

  test('inflate must be one of the modes', async () => {
    await expect(readNiftiRaw(path4d, { inflate: 'fast' as never })).rejects.toThrow(/options.inflate/);
  });
});

describe('a header that claims more voxels than the file holds', () => {
  test('is ERR_NIFTI_TRUNCATED, gzipped or not, without allocating what it claims', async () => {
    const plain = join(dir, 'claim.nii');
    await writeNifti(plain, { data: vol(0), shape, spacing: [1, 1, 1], affine });
    const bytes = Buffer.from(readFileSync(plain));
    bytes.writeInt16LE(30000, 42); // dim[1]: 9 -> 30000 columns, 30000 * 7 * 6 * 2 bytes ~ 2.5 MB claimed
    bytes.writeInt16LE(30000, 44); // dim[2] too: ~10 GB claimed
    writeFileSync(plain, bytes);
    const gz = join(dir, 'claim.nii.gz');
    writeFileSync(gz, gzipSync(bytes));
    for (const path of [plain, gz])
      await expect(readNiftiRaw(path)).rejects.toMatchObject({ name: 'NiftiError', code: 'ERR_NIFTI_TRUNCATED' });
  });
});
