import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCache, prepareCohort, type PrepareProgress } from '../../lib/data/cache.js';
import { readNpy, writeNpy } from '../../lib/io/npy.js';
import { openCohort, type Cohort } from '../../lib/data/cohort.js';
import { preprocessVolume, resolvePreprocess } from '../../lib/data/preprocess/index.js';
import { synthCohort } from '../../lib/data/synth.js';
import { readNifti, writeNifti } from '../../lib/io/nifti.js';

const base = mkdtempSync(join(tmpdir(), 'spottune-cache-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const root = join(base, 'cohort');
const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));
const small = { crop: 'small' as const, padTo: [35, 43, 43] as [number, number, number] };
let cohort: Cohort;
let nanVolume: { id: string; path: string };

beforeAll(async () => {
  await synthCohort({ out: root, patients: 4, size: 'small', seed: 2 });
  cohort = await openCohort(root);
  // one volume with NaN inside the tumour: it must be skipped with its reason, not crash the run
  const p = cohort.patients[1];
  const v = await readNifti(p.images.T1!);
  const mask = await readNifti(p.mask);
  const data = Float32Array.from(v.data);
  data[mask.data.findIndex((x) => x > 0)] = NaN;
  await writeNifti(p.images.T1!, { ...v, data });
  nanVolume = { id: p.id, path: p.images.T1! };
});

const total = () => cohort.patients.reduce((n, p) => n + Object.keys(p.images).length, 0);

describe('prepareCohort writes a cache that openCache reads', () => {
  const out = join(base, 'cache');
  test('first run: every volume prepared or skipped, with progress events and the contract manifest', async () => {
    const events: PrepareProgress[] = [];
    const r = await prepareCohort(cohort, { out, preprocess: small, workers: 0, onProgress: (e) => events.push(e) });
    expect(r.interrupted).toBe(false);
    expect(r.prepared + r.skipped).toBe(total());
    expect(r.reused).toBe(0);
    expect(events.length).toBe(total());
    expect(events.at(-1)).toMatchObject({ done: total(), total: total() });
    expect(r.decoded).toBe(total() + cohort.patients.length); // every image + one mask per patient
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.complete).toBe(true);
    expect(m.shape).toEqual([35, 43, 43]);
    expect(m.params.cropBox).toEqual([
      [0, 70],
      [20, 106],
      [22, 104],
    ]);
    expect(m.skipped).toEqual([
      { id: nanVolume.id, modality: 'T1', code: 'non-finite', reason: '1 NaN/Inf voxel(s) inside the tumour mask' },
    ]);
    expect(m.patients.map((p: { id: string; label: number }) => [p.id, p.label])).toEqual(cohort.patients.map((p) => [p.id, p.label]));
    expect(m.patients[1].modalities).not.toContain('T1');
    expect(m.patients[0].modalities.slice(0, 4)).toEqual(['T2', 'FLAIR', 'T1', 'T1GD']); // the study's channel order
  });

  test('openCache loads contiguous [D, H, W] float32 in [0, 1], equal to preprocessing directly', async () => {
    const cache = await openCache(out);
    expect(cache.shape).toEqual([35, 43, 43]);
    const p = cohort.patients[0];
    // the cache reads stored voxels (readNiftiRaw); the result equals preprocessing readNifti's float32 voxels
    for (const q of cohort.patients) {
      for (const m of ['FLAIR', 'DTI_FA', 'DSC_PSR'] as const) {
        if (!q.images[m]) continue;
        const [img, mask] = await Promise.all([readNifti(q.images[m]!), readNifti(q.mask)]);
        const want = preprocessVolume(
          { data: img.data, shape: img.shape, sourceDtype: img.scaled ? 'float32' : img.header.dtype },
          mask,
          [
            [0, 70],
            [20, 106],
            [22, 104],
          ],
          resolvePreprocess(small),
        );
        if (!want.ok) throw new Error(want.reason);
        expect(await cache.load(q.id, m)).toEqual(want.data);
      }
    }
    const got = await cache.load(p.id, 'FLAIR');
    expect(got.reduce((a, v) => Math.min(a, v), 1)).toBe(0);
    expect(got.reduce((a, v) => Math.max(a, v), 0)).toBe(1);
    await expect(cache.load(nanVolume.id, 'T1')).rejects.toThrow(/skipped: 1 NaN\/Inf voxel/);
    await expect(cache.load('UPENN-GBM-99999_11', 'T1')).rejects.toThrow(RangeError);
    // numpy reads the files
    const py = execFileSync(
      '/usr/bin/python3',
      ['-c', 'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape, float(a.sum()))', cache.path(p.id, 'FLAIR')],
      { encoding: 'utf8' },
    );
    const [dtype, ...rest] = py.trim().split(' ');
    expect(dtype).toBe('float32');
    expect(rest.slice(0, 3).join(' ')).toBe('(35, 43, 43)');
    expect(Number(rest[3])).toBeCloseTo(
      got.reduce((a, v) => a + v, 0),
      1,
    );
  });

  test('a second run decodes no NIfTI; a touched source is recomputed alone', async () => {
    const again = await prepareCohort(cohort, { out, preprocess: small, workers: 0 });
    expect(again).toMatchObject({ prepared: 0, skipped: 0, decoded: 0, reused: total(), interrupted: false });
    const p = cohort.patients[0];
    const later = new Date(Date.now() + 5000);
    utimesSync(p.images.T2!, later, later);
    const third = await prepareCohort(await openCohort(root), { out, preprocess: small, workers: 0 });
    expect(third).toMatchObject({ prepared: 1, decoded: 2, reused: total() - 1 });
    // other parameters are another key: nothing reused
    const other = await prepareCohort(cohort, {
      out: join(base, 'cache-other'),
      preprocess: { ...small, scale: 0.4, padTo: [30, 36, 36] },
      workers: 0,
      modalities: ['T2'],
    });
    expect(other.manifest.shape).toEqual([30, 36, 36]);
    expect(other.prepared).toBe(cohort.patients.length);
  });

  test('interrupted with an AbortSignal, then resumed', async () => {
    const dir = join(base, 'cache-interrupted');
    const controller = new AbortController();
    const first = await prepareCohort(cohort, {
      out: dir,
      preprocess: small,
      workers: 0,
      signal: controller.signal,
      onProgress: (e) => e.done === 3 && controller.abort(),
    });
    expect(first.interrupted).toBe(true);
    expect(first.prepared + first.skipped).toBeGreaterThanOrEqual(3);
    expect(first.prepared + first.skipped).toBeLessThan(total());
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).complete).toBe(false);
    await expect(openCache(dir)).rejects.toThrow(/incomplete/);
    const resumed = await prepareCohort(cohort, { out: dir, preprocess: small, workers: 0 });
    expect(resumed.reused).toBe(first.prepared + first.skipped);
    expect(resumed.reused + resumed.prepared + resumed.skipped).toBe(total());
    expect((await openCache(dir)).patients.length).toBe(cohort.patients.length);
  });

  test('worker threads give byte-identical files', async () => {
    const dir = join(base, 'cache-workers');
    const modalities = ['T2', 'DTI_FA', 'DSC_PH'] as const;
    const r = await prepareCohort(cohort, { out: dir, preprocess: small, workers: 2, modalities });
    expect(r.prepared).toBeGreaterThan(cohort.patients.length);
    const hash = (d: string) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.npy'))
        .sort()
        .map((f) => [
          f,
          createHash('sha256')
            .update(readFileSync(join(d, f)))
            .digest('hex'),
        ]);
    const inProcess = join(base, 'cache-inprocess');
    await prepareCohort(cohort, { out: inProcess, preprocess: small, workers: 0, modalities });
    expect(hash(dir)).toEqual(hash(inProcess));
  });

  test('spottune data prepare: a progress-free run, then a fully cached one', () => {
    const dir = join(base, 'cache-cli');
    const run = () =>
      spawnSync(
        process.execPath,
        [
          bin,
          'data',
          'prepare',
          '--data',
          root,
          '--out',
          dir,
          '--crop',
          'small',
          '--modalities',
          'T2,FLAIR',
          '--workers',
          '1',
          '--no-progress',
        ],
        { encoding: 'utf8' },
      );
    const a = run();
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(
      new RegExp(
        `^${cohort.patients.length * 2} prepared, 0 reused, 0 skipped; ${cohort.patients.length} patients, shape \\[35, 43, 43\\]`,
      ),
    );
    const b = run();
    expect(b.stdout).toMatch(/^0 prepared, 8 reused, 0 skipped;.*0 NIfTI decoded/);
    expect(existsSync(join(dir, `${cohort.patients[0].id}_T2.npy`))).toBe(true);
  });
});

test('writeNpy/readNpy round trip; bad calls', async () => {
  const path = join(base, 'x.npy');
  await writeNpy(path, new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  expect(await readNpy(path)).toEqual({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
  expect((readFileSync(path).readUInt16LE(8) + 10) % 64).toBe(0);
  await expect(writeNpy(path, new Float32Array(5), [2, 3])).rejects.toThrow(RangeError);
  await expect(openCache(join(base, 'nothing'))).rejects.toThrow(/no spottune3d-prepared-cohort manifest/);
  await expect(prepareCohort(cohort, { out: join(base, 'bad'), modalities: ['T3' as never] })).rejects.toThrow(/Unknown modality/);
  await expect(prepareCohort(cohort, { out: join(base, 'bad'), preprocess: { crop: 'small', padTo: [10, 10, 10] } })).rejects.toThrow(
    /padTo \[10, 10, 10\] is smaller/,
  );
});
