// Hostile NIfTI files: headers that lie about sizes and offsets, extension chains that loop or
// stall, decompression bombs and overflowing sizes. Each is written at test time by
// scripts/fixtures/hostile/make_nifti.mjs and read in a child process with a capped heap, which
// must load it or fail with a coded NiftiError, within a time and a memory bound, and stay alive
// (a read that loops, or inflates a bomb, kills or stalls the child and fails the test). The files
// with an odd vox_offset must moreover load equal to nibabel, whichever way they are inflated.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { NiftiError, readNiftiHeader, readNiftiRaw } from '../../lib/io/index.js';
import { generateAttacks, readInChild } from '../helpers/hostile.js';

const dir = mkdtempSync(join(tmpdir(), 'spottune-nifti-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attacks = generateAttacks<{ file: string; attack: string; code: string; options: Record<string, unknown>; nibabel?: true }>(
  'make_nifti.mjs',
  dir,
);

const HEAP_MIB = 256; // a looping extension walk grows the heap ~125 MB/s: it dies here
const RSS_MIB = 128; // measured 51-56 (node itself takes about 45); the 512 MiB bomb inflated in full: over 600
const TIME_MS = 2000; // measured 5-145 ms on a loaded two-core machine; the bomb inflated in full takes seconds

describe('hostile NIfTI files load or fail coded, fast, in bounded memory', () => {
  test('the generator writes every attack', () => {
    expect(attacks.map((a) => a.attack)).toEqual(
      expect.arrayContaining(['extension-loop.nii', 'bomb-512MiB.nii.gz', 'vox-offset--16.nii', 'vox-offset-353-float32.nii.gz']),
    );
  });

  test.each(attacks.map((a) => [a.attack, a] as const))('%s', (_, { file, code, options }) => {
    const report = readInChild('readNiftiRaw', file, [options], HEAP_MIB);
    expect(report.code).toBe(code);
    if (code !== 'LOADED') expect(report.name).toBe('NiftiError');
    expect(report.ms).toBeLessThan(TIME_MS);
    expect(report.rssMiB).toBeLessThan(RSS_MIB);
  });
});

describe('an odd vox_offset loads, equal to nibabel', () => {
  /** nibabel's stored voxels, (z, y, x) order, as float64. */
  function nibabel(path: string): number[] {
    const code = `
import sys, numpy as np, nibabel as nib
raw = np.asarray(nib.load(sys.argv[1]).dataobj.get_unscaled())
sys.stdout.buffer.write(np.ascontiguousarray(np.transpose(raw, (2, 1, 0))).astype('<f8').tobytes())`;
    const out = execFileSync('/usr/bin/python3', ['-c', code, path]);
    return Array.from(new Float64Array(out.buffer, out.byteOffset, out.byteLength / 8));
  }

  test.each(attacks.filter((a) => a.nibabel).map((a) => [a.attack, a] as const))('%s', async (_, { file }) => {
    const want = nibabel(file);
    for (const inflate of ['auto', 'whole', 'stream'] as const) {
      const v = await readNiftiRaw(file, { inflate });
      expect(v.stored.byteOffset % v.stored.BYTES_PER_ELEMENT).toBe(0);
      expect(Array.from(v.stored)).toEqual(want);
    }
  });
});

describe('in process: the reasons name the lie', () => {
  const file = (attack: string) => attacks.find((a) => a.attack === attack)!.file;

  test.each([
    ['extension-loop.nii', /extension at byte 352 has esize -16/],
    ['extension-past-vox-offset.nii', /runs past vox_offset 368/],
    ['vox-offset--16.nii', /vox_offset is -16/],
    ['sizeof-hdr-349.nii', /sizeof_hdr is 349/],
    ['dim-negative.nii', /dim\[2\] = -2/],
  ])('%s: header and voxels refused with ERR_NIFTI_FORMAT', async (attack, message) => {
    for (const read of [readNiftiHeader, readNiftiRaw]) {
      const err = await read(file(attack)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NiftiError);
      expect(err).toMatchObject({ code: 'ERR_NIFTI_FORMAT', message: expect.stringMatching(message) });
    }
  });

  test('the bomb: the header reads; the voxels stop at the bound with ERR_NIFTI_LIMIT, or stream', async () => {
    const bomb = file('bomb-512MiB.nii.gz');
    expect((await readNiftiHeader(bomb)).dims.slice(0, 4)).toEqual([3, 2, 2, 2]);
    await expect(readNiftiRaw(bomb)).rejects.toMatchObject({
      name: 'NiftiError',
      code: 'ERR_NIFTI_LIMIT',
      message: expect.stringMatching(/inflates past the \d+ bytes its header describes/),
    });
    expect(Array.from((await readNiftiRaw(bomb, { inflate: 'stream' })).stored)).toEqual([-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5]);
  });
});
