// Every file the library writes must survive a failed write: the previous file stays whole and its
// real reader still reads it. A plain writeFile passes a "no .tmp left behind" check, so these tests
// make the write fail for real, at each step of writeFileAtomic, for each kind of file the study
// writes: a .pth checkpoint, a NIfTI volume, the cache's .npy volumes and manifest, splits.json, a
// job's result and the report. The failures are injected into node:fs/promises (the module the
// writer calls), so they are the errors the kernel would raise: a disk that fills after half the
// bytes (ENOSPC from write), a failing fsync (EIO), a failing rename (EXDEV).
// A crash between the temporary write and the rename is proven in test/lifecycle/atomic-kill.test.ts.
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { openCache, prepareCohort } from '../../lib/data/cache.js';
import { openCohort } from '../../lib/data/cohort.js';
import { makeStudySplits, readSplits, writeSplits, type SplitPatient } from '../../lib/data/splits.js';
import { synthCohort } from '../../lib/data/synth.js';
import { recordJobResult, readJobResult, jobResultPath } from '../../lib/experiment/plan.js';
import { readNifti, writeNifti } from '../../lib/io/nifti.js';
import { identityAffine } from '../../lib/io/volume.js';
import { readNpy, writeNpy } from '../../lib/io/npy.js';
import { readPth, savePth } from '../../lib/io/pth/index.js';
import { summarizeEnsemble, summarizeGroupStatistics, writeReport, type ExperimentResults } from '../../lib/report/index.js';

type Step = 'write' | 'fsync' | 'rename';
/** The armed fault: which step fails, for the temporary file of which target (by base name). */
const fault = vi.hoisted(() => ({ step: undefined as Step | undefined, target: undefined as RegExp | undefined, fired: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const injected = (code: string, syscall: string) => Object.assign(new Error(`${code}: injected ${syscall} failure`), { code, syscall });
  // writeFileAtomic names its temporary file `.<target>.<pid>.<hex>.tmp` beside the target
  const armed = (step: Step, path: unknown) => {
    if (fault.step !== step || !fault.target) return false;
    const name = basename(String(path));
    const m = /^\.(.+)\.\d+\.[0-9a-f]+\.tmp$/.exec(name);
    return m !== null && fault.target.test(m[1]);
  };
  const open: typeof fs.open = async (path, ...rest) => {
    const handle = await fs.open(path, ...rest);
    if (!armed('write', path) && !armed('fsync', path)) return handle;
    const step = fault.step;
    let written = 0;
    return {
      async write(buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset) {
        // half of the first chunk reaches the disk, then the disk is full
        if (step === 'write') {
          if (written > 0) throw injected('ENOSPC', 'write');
          const half = Math.max(1, Math.floor(length / 2));
          const r = await handle.write(buffer, offset, half);
          written += r.bytesWritten;
          fault.fired++;
          throw injected('ENOSPC', 'write');
        }
        return handle.write(buffer, offset, length);
      },
      async sync() {
        if (step === 'fsync') {
          fault.fired++;
          throw injected('EIO', 'fsync');
        }
        return handle.sync();
      },
      close: () => handle.close(),
    } as unknown as FsPromises.FileHandle;
  };
  const rename: typeof fs.rename = async (from, to) => {
    if (armed('rename', from)) {
      fault.fired++;
      throw injected('EXDEV', 'rename');
    }
    return fs.rename(from, to);
  };
  const mocked = { ...fs, open, rename };
  return { ...mocked, default: mocked };
});

const base = mkdtempSync(join(tmpdir(), 'atomic-faults-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
afterEach(() => {
  fault.step = undefined;
  fault.target = undefined;
});

const steps: Step[] = ['write', 'fsync', 'rename'];
const errorOf: Record<Step, string> = { write: 'ENOSPC', fsync: 'EIO', rename: 'EXDEV' };

/**
 * Writes the old version, arms the fault, checks the new write rejects with the injected error,
 * then reads the target with its real reader: it must be the old version, and no temporary file
 * may remain in its folder.
 */
async function provePreserved<T>(
  path: string,
  step: Step,
  io: { write: (version: 1 | 2) => Promise<unknown>; read: () => Promise<T>; expected: (version: 1 | 2) => T | Promise<T> },
  target = new RegExp(`^${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
): Promise<void> {
  await io.write(1);
  const before = readFileSync(path);
  expect(await io.read()).toEqual(await io.expected(1));
  fault.step = step;
  fault.target = target;
  fault.fired = 0;
  await expect(io.write(2)).rejects.toMatchObject({ code: errorOf[step] });
  expect(fault.fired).toBeGreaterThan(0);
  fault.step = undefined;
  expect(readFileSync(path).equals(before)).toBe(true);
  expect(await io.read()).toEqual(await io.expected(1));
  expect(readdirSync(dirname(path)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  // and the writer still works once the fault is gone
  await io.write(2);
  expect(await io.read()).toEqual(await io.expected(2));
}

const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => scale * (i + 1));

describe.each(steps)('a failed %s leaves the previous file whole and readable', (step) => {
  const dir = () => mkdtempSync(join(base, `${step}-`));

  test('.pth checkpoint (readPth)', async () => {
    const path = join(dir(), 'model.pth');
    const tree = (v: number) => ({ epoch: v, weight: { dtype: 'float32' as const, shape: [64, 64], data: ramp(64 * 64, v) } });
    await provePreserved(path, step, {
      write: (v) => savePth(path, tree(v)),
      read: async () => {
        const f = await readPth(path);
        const tree = f.tree as Map<string, unknown>; // a pickled dict reads back as a Map
        const weight = tree.get('weight') as { data: Float32Array };
        return { epoch: tree.get('epoch'), weight: Array.from(weight.data.subarray(0, 4)), length: weight.data.length };
      },
      expected: (v) => ({ epoch: v, weight: Array.from(ramp(4, v)), length: 64 * 64 }),
    });
  });

  test.each(['volume.nii', 'volume.nii.gz'])('NIfTI %s (readNifti)', async (name) => {
    const path = join(dir(), name);
    const shape: [number, number, number] = [12, 10, 8];
    const volume = (v: number) => ({
      data: ramp(12 * 10 * 8, v),
      shape,
      spacing: [1, 1, 1] as [number, number, number],
      affine: identityAffine(),
    });
    await provePreserved(path, step, {
      write: (v) => writeNifti(path, volume(v)),
      read: async () => {
        const back = await readNifti(path);
        return { shape: back.shape, data: Array.from(back.data) };
      },
      expected: (v) => ({ shape, data: Array.from(volume(v).data) }),
    });
  });

  test('.npy (readNpy)', async () => {
    const path = join(dir(), 'x.npy');
    await provePreserved(path, step, {
      write: (v) => writeNpy(path, ramp(6 * 7 * 8, v), [6, 7, 8]),
      read: async () => {
        const { data, shape } = await readNpy(path);
        return { shape, data: Array.from(data) };
      },
      expected: (v) => ({ shape: [6, 7, 8], data: Array.from(ramp(6 * 7 * 8, v)) }),
    });
  });

  test('splits.json (readSplits)', async () => {
    const path = join(dir(), 'splits.json');
    const patients = (v: number): SplitPatient[] =>
      Array.from({ length: 40 }, (_, i) => ({ id: `P${String(i + v * 100).padStart(4, '0')}`, label: (i % 2) as 0 | 1, groups: ['DSC'] }));
    await provePreserved(path, step, {
      write: (v) => writeSplits(path, makeStudySplits(patients(v), {}, { groups: ['DSC'] })),
      read: () => readSplits(path),
      expected: (v) => makeStudySplits(patients(v), {}, { groups: ['DSC'] }),
    });
  });

  test("a job's result (readJobResult)", async () => {
    const out = dir();
    const id = 'train.spottune.T1GD.fold0';
    await provePreserved(jobResultPath(out, id), step, {
      write: (v) => recordJobResult(out, id, { auc: v / 4, checkpoint: `fold${v}.pth` }, 10),
      read: () => readJobResult(out, id),
      expected: (v) => ({ auc: v / 4, checkpoint: `fold${v}.pth` }),
    });
  });

  test.each(['results.json', 'report.html', 'report.md', 'predictions.csv'])('the report: %s', async (name) => {
    const out = dir();
    const path = join(out, name);
    const read = () => readFileSync(path, 'utf8');
    const expected: Record<number, string> = {};
    await provePreserved(path, step, {
      write: async (v) => {
        await writeReport(reportResults(v), out);
        expected[v] ??= read();
      },
      read: async () => (name === 'results.json' ? JSON.parse(read()) : read()),
      expected: (v) => (name === 'results.json' ? JSON.parse(JSON.stringify(reportResults(v))) : expected[v]),
    });
    if (name === 'results.json') expect(JSON.parse(read()).title).toBe('Report v2');
  });
});

describe('the preprocessed cache', () => {
  const root = join(base, 'cohort');
  const out = join(base, 'cache');
  const small = { crop: 'small' as const, padTo: [35, 43, 43] as [number, number, number] };
  beforeAll(async () => {
    await synthCohort({ out: root, patients: 2, size: 'small', seed: 5 });
    await prepareCohort(await openCohort(root), { out, preprocess: small, workers: 0 });
  });

  // A source volume made newer than its cached copy is prepared again, rewriting its .npy and the manifest.
  async function touchFirstSource(): Promise<{ id: string; modality: string }> {
    const cohort = await openCohort(root);
    const p = cohort.patients[0];
    const [modality, path] = Object.entries(p.images)[0] as [string, string];
    const later = new Date(Date.now() + 60_000);
    utimesSync(path, later, later);
    return { id: p.id, modality };
  }

  test.each(steps)('a failed %s of manifest.json keeps the previous manifest, which openCache still reads', async (step) => {
    const before = readFileSync(join(out, 'manifest.json'));
    const cache = await openCache(out);
    await touchFirstSource();
    fault.step = step;
    fault.target = /^manifest\.json$/;
    fault.fired = 0;
    await expect(prepareCohort(await openCohort(root), { out, preprocess: small, workers: 0 })).rejects.toMatchObject({
      code: errorOf[step],
    });
    expect(fault.fired).toBeGreaterThan(0);
    fault.step = undefined;
    expect(readFileSync(join(out, 'manifest.json')).equals(before)).toBe(true);
    const again = await openCache(out);
    expect(again.patients).toEqual(cache.patients);
    for (const p of again.patients) for (const m of p.modalities) expect((await again.load(p.id, m)).length).toBe(35 * 43 * 43);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test.each(steps)('a failed %s of a cached .npy keeps the previous volume, which the cache still loads', async (step) => {
    await prepareCohort(await openCohort(root), { out, preprocess: small, workers: 0 });
    const cache = await openCache(out);
    const { id, modality } = await touchFirstSource();
    const file = basename(cache.path(id, modality as never));
    const before = readFileSync(cache.path(id, modality as never));
    const volume = await cache.load(id, modality as never);
    fault.step = step;
    fault.target = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    fault.fired = 0;
    // the cache reports a volume it could not write instead of failing the whole run, or rejects:
    // either way the old file on disk must be intact
    await prepareCohort(await openCohort(root), { out, preprocess: small, workers: 0 }).catch((err: { code?: string }) => {
      expect(err.code).toBe(errorOf[step]);
    });
    expect(fault.fired).toBeGreaterThan(0);
    fault.step = undefined;
    expect(readFileSync(cache.path(id, modality as never)).equals(before)).toBe(true);
    expect((await readNpy(cache.path(id, modality as never))).data).toEqual(volume);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

const labels: (0 | 1)[] = [1, 0, 1, 1, 0, 0, 1, 0];
/** A small results object; `version` changes the title and the probabilities, so each file differs. */
function reportResults(version: number): ExperimentResults {
  const patients = labels.map((label, i) => ({ id: `UPENN-GBM-${String(i + 1).padStart(5, '0')}_11`, label }));
  const probs = (strength: number) => labels.map((y, i) => 0.5 + strength * (y - 0.5) + 0.05 * version * (((i * 7) % 5) / 5 - 0.4));
  const networks = ['spottune', 'random', 'transfer'];
  const strengths: Record<string, number> = { spottune: 0.6, random: 0.1, transfer: 0.3 };
  const summary = { threshold: 0.5, bootstrapResamples: 50 };
  return {
    title: `Report v${version}`,
    synthetic: true,
    threshold: 0.5,
    networks,
    groups: ['DSC'],
    testPatients: patients,
    ensembles: Object.fromEntries(networks.map((n) => [n, { DSC: summarizeEnsemble(labels, probs(strengths[n]), summary) }])),
    statistics: { DSC: summarizeGroupStatistics(Object.fromEntries(networks.map((n) => [n, probs(strengths[n])]))) },
  } as ExperimentResults;
}
