// A hostile file in a cohort costs its own volumes, never the run: a NIfTI file whose extension
// chain loops (it used to hang the read and kill the worker thread) is a coded per-file failure in
// the manifest, and a worker thread that dies anyway (out of memory, an uncaught error, an exit) is
// replaced, its patient's unreported volumes recorded as failures with ERR_PREPARE_WORKER.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareCohort, runInWorkers } from '../../lib/data/cache.js';
import { openCohort, type Cohort } from '../../lib/data/cohort.js';
import type { ItemResult, PatientJob } from '../../lib/data/preprocess-job.js';
import { synthCohort } from '../../lib/data/synth.js';

const base = mkdtempSync(join(tmpdir(), 'spottune-cache-fail-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const small = { crop: 'small' as const, padTo: [35, 43, 43] as [number, number, number] };

/** The generator's extension-loop file (esize -16 at byte 352, +16 at byte 336). */
let looping: string;
let cohort: Cohort;

beforeAll(async () => {
  const generator = new URL('../../scripts/fixtures/hostile/make_nifti.mjs', import.meta.url).pathname;
  const attacks = JSON.parse(
    execFileSync(process.execPath, [generator, join(base, 'hostile')], { encoding: 'utf8', timeout: 60_000 }),
  ) as Array<{ file: string; attack: string }>;
  looping = attacks.find((a) => a.attack === 'extension-loop.nii')!.file;
  await synthCohort({ out: join(base, 'cohort'), patients: 3, size: 'small', seed: 3 });
  cohort = await openCohort(join(base, 'cohort'));
  copyFileSync(looping, cohort.patients[1].images.T2!); // content, not the name, tells .nii from .nii.gz
});

describe('a hostile file in a cohort', () => {
  test.each([0, 2])('is that volume recorded as ERR_NIFTI_FORMAT, the rest prepared (workers: %i)', async (workers) => {
    const r = await prepareCohort(cohort, { out: join(base, `cache-${workers}`), preprocess: small, workers, modalities: ['T2', 'FLAIR'] });
    expect(r.interrupted).toBe(false);
    expect(r.prepared).toBe(2 * cohort.patients.length - 1);
    expect(r.manifest.skipped).toEqual([
      {
        id: cohort.patients[1].id,
        modality: 'T2',
        code: 'read-error',
        reason: expect.stringMatching(/esize -16/),
        error: 'ERR_NIFTI_FORMAT',
      },
    ]);
    expect(r.manifest.patients.find((p) => p.id === cohort.patients[1].id)?.modalities).toEqual(['FLAIR']);
  });
});

describe('a hostile mask', () => {
  test("with crop 'tumour': left out of the box, its patient's volumes recorded as ERR_NIFTI_FORMAT", async () => {
    await synthCohort({ out: join(base, 'cohort-mask'), patients: 3, size: 'small', seed: 3 });
    const c = await openCohort(join(base, 'cohort-mask'));
    copyFileSync(looping, c.patients[0].mask);
    const r = await prepareCohort(c, {
      out: join(base, 'cache-mask'),
      preprocess: { ...small, crop: 'tumour' },
      workers: 0,
      modalities: ['T2', 'FLAIR'],
    });
    expect(r.prepared).toBe(4);
    expect(r.manifest.skipped.map((s) => [s.id, s.modality, s.code, s.error])).toEqual([
      [c.patients[0].id, 'T2', 'read-error', 'ERR_NIFTI_FORMAT'],
      [c.patients[0].id, 'FLAIR', 'read-error', 'ERR_NIFTI_FORMAT'],
    ]);
  });
});

describe('a worker thread that dies', () => {
  // A stand-in worker that reads headers with nifti-reader-js directly, the unguarded walk that
  // loops on the hostile chain until the (capped) heap is exhausted; modality EXIT exits, THROW throws.
  const reader = new URL('../../node_modules/nifti-reader-js/dist/nifti.js', import.meta.url).href;
  const script = join(base, 'dying-worker.mjs');
  writeFileSync(
    script,
    `import { parentPort } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as nifti from ${JSON.stringify(reader)};
parentPort.on('message', (job) => {
  for (const item of job.items) {
    if (item.modality === 'EXIT') process.exit(3);
    if (item.modality === 'THROW') throw new Error('boom');
    let b = readFileSync(item.imagePath);
    if (b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b);
    new nifti.NIFTI1().readHeader(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    parentPort.postMessage({ type: 'item', id: job.id, modality: item.modality, ok: true, decoded: 1 });
  }
  parentPort.postMessage({ type: 'patient-done', id: job.id });
});
`,
  );
  const job = (id: string, ...items: Array<[string, string]>) =>
    ({ id, items: items.map(([modality, imagePath]) => ({ modality, imagePath, outPath: '' })) }) as unknown as PatientJob;

  test('is replaced; only the unreported volumes of its patient fail, with ERR_PREPARE_WORKER', async () => {
    const good = cohort.patients[0].images.FLAIR!;
    const jobs = [
      job('P1', ['T1', good], ['T2', looping], ['FLAIR', good]),
      job('P2', ['T1', good]),
      job('P3', ['EXIT', good], ['T1', good]),
      job('P4', ['THROW', good]),
      job('P5', ['T1', good], ['T2', good]),
    ];
    const results: ItemResult[] = [];
    const t0 = performance.now();
    await runInWorkers(script, 2, jobs, (r) => results.push(r), undefined, { maxOldGenerationSizeMb: 32 });
    expect(performance.now() - t0).toBeLessThan(20_000);
    const outcome = Object.fromEntries(results.map((r) => [`${r.id}/${r.modality}`, r.ok ? 'ok' : r.error]));
    expect(outcome).toEqual({
      'P1/T1': 'ok',
      'P1/T2': 'ERR_PREPARE_WORKER',
      'P1/FLAIR': 'ERR_PREPARE_WORKER',
      'P2/T1': 'ok',
      'P3/EXIT': 'ERR_PREPARE_WORKER',
      'P3/T1': 'ERR_PREPARE_WORKER',
      'P4/THROW': 'ERR_PREPARE_WORKER',
      'P5/T1': 'ok',
      'P5/T2': 'ok',
    });
    const reasons = results.filter((r) => !r.ok).map((r) => (r as { reason: string }).reason);
    expect(reasons.some((r) => /ERR_WORKER_OUT_OF_MEMORY/.test(r))).toBe(true);
    expect(reasons.some((r) => /exit code 3/.test(r))).toBe(true);
    expect(reasons.some((r) => /boom/.test(r))).toBe(true);
  });
});
