import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCohort } from '../../lib/data/cohort.js';
import { CohortError, detectLayout, openDataset } from '../../lib/data/cohort/layouts.js';
import { synthCohort } from '../../lib/data/synth.js';

const root = mkdtempSync(join(tmpdir(), 'spottune-layouts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));
const upenn = join(root, 'upenn');
const brats = join(root, 'brats');
const options = { patients: 6, size: 'small', seed: 3, compressionLevel: 1 } as const;

beforeAll(async () => {
  await synthCohort({ ...options, out: upenn });
  await synthCohort({ ...options, out: brats, layout: 'brats2021' });
}, 240_000);

async function rejection(p: Promise<unknown>): Promise<CohortError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CohortError) return err;
    throw err;
  }
  throw new Error('expected a CohortError');
}

describe('BraTS 2021 with the RSNA-MICCAI labels', () => {
  test('the twin: BraTS folders and an RSNA-style labels CSV with unpadded IDs', () => {
    const dirs = readdirSync(brats)
      .filter((d) => d.startsWith('BraTS2021_'))
      .sort();
    expect(dirs.length).toBeGreaterThan(6); // the definite six plus the unlabelled extras
    expect(readdirSync(join(brats, dirs[0])).sort()).toEqual(
      ['t1', 't1ce', 't2', 'flair', 'seg'].map((m) => `${dirs[0]}_${m}.nii.gz`).sort(),
    );
    const csv = readFileSync(join(brats, 'train_labels.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('BraTS21ID,MGMT_value');
    expect(csv.slice(1).every((r) => /^[1-9]\d*,[01]$/.test(r))).toBe(true);
  });

  test('detected, labels joined through zero-padded IDs, the same patients and volumes as UPENN-GBM', async () => {
    expect(await detectLayout(brats)).toBe('brats2021');
    expect(await detectLayout(upenn)).toBe('upenn');
    const b = await openDataset(brats);
    const u = await openCohort(upenn);
    expect(b.layout).toBe('brats2021');
    expect(b.detected).toBe(true);
    expect(b.clinicalCsv).toBe(join(brats, 'train_labels.csv'));
    const num = (id: string) => Number(/(\d{5})/.exec(id)![1]);
    expect(b.patients.map((p) => [num(p.id), p.label])).toEqual(u.patients.map((p) => [num(p.id), p.label]));
    expect(b.modalityGroups).toEqual({ struct: ['t1', 't1ce', 't2', 'flair'] });
    expect(b.excluded.every((e) => /not in the labels file/.test(e.reason))).toBe(true);
    // same voxels: the twin's t1ce is UPENN-GBM's T1GD, byte for byte
    const [bp, up] = [b.patients[0], u.patients[0]];
    expect(readFileSync(bp.images.t1ce!)).toEqual(readFileSync(up.images.T1GD!));
    expect(readFileSync(bp.mask)).toEqual(readFileSync(up.mask));
  });

  test('a patient with a missing file is an error listing it, or skipped when asked', async () => {
    const copy = join(root, 'brats-broken');
    mkdirSync(copy);
    for (const d of readdirSync(brats)) {
      if (d.endsWith('.csv')) copyFileSync(join(brats, d), join(copy, d));
      else {
        mkdirSync(join(copy, d));
        for (const f of readdirSync(join(brats, d))) copyFileSync(join(brats, d, f), join(copy, d, f));
      }
    }
    const first = (await openDataset(brats)).patients[0].id;
    rmSync(join(copy, first, `${first}_seg.nii.gz`));
    const e = await rejection(openDataset(copy));
    expect(e.code).toBe('ERR_UNUSABLE_PATIENTS');
    expect(e.patients).toEqual([{ id: first, reason: expect.stringMatching(/missing or not a file: segmentation .*_seg\.nii\.gz/) }]);
    expect(e.message).toMatch(/--skip-unusable/);
    const skipped = await openDataset(copy, { skipUnusable: true });
    expect(skipped.patients.map((p) => p.id)).not.toContain(first);
    expect(skipped.excluded.find((x) => x.id === first)?.reason).toMatch(/missing or not a file/);
  });
});

describe('a folder per patient with a labels CSV, and the errors that protect the user', () => {
  const folders = join(root, 'parent', 'mine');
  const sibling = join(root, 'parent', 'csvs');
  beforeAll(() => {
    // the maintainers' trial: patient folders, a labels CSV, and a sibling folder holding a UPENN-GBM clinical CSV
    mkdirSync(sibling, { recursive: true });
    writeFileSync(join(sibling, 'UPENN-GBM_clinical_info_v2.1.csv'), 'ID,MGMT\nUPENN-GBM-00001_11,Methylated\n');
    const u = readdirSync(join(brats))
      .filter((d) => d.startsWith('BraTS2021_'))
      .sort();
    for (const [k, d] of u.slice(0, 4).entries()) {
      const dir = join(folders, `case${k}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(join(brats, d, `${d}_flair.nii.gz`), join(dir, 'FLAIR.nii.gz'));
      copyFileSync(join(brats, d, `${d}_t1.nii.gz`), join(dir, `case${k}_T1.nii.gz`));
      copyFileSync(join(brats, d, `${d}_seg.nii.gz`), join(dir, 'seg.nii.gz'));
    }
  });

  test('without a labels file: an error that names what was looked for, never the sibling CSV', async () => {
    expect(await detectLayout(folders)).toBe('folders');
    const e = await rejection(openDataset(folders));
    expect(e.code).toBe('ERR_NO_LABELS');
    expect(e.message).toMatch(/no labels CSV .* file inside the dataset folder.*--labels/);
    // UPENN-GBM: the clinical CSV of a sibling folder is not picked up either
    const pkg = join(root, 'parent', 'pkg');
    mkdirSync(join(pkg, 'images_structural'), { recursive: true });
    await expect(openCohort(pkg)).rejects.toThrow(/no UPENN-GBM_clinical_info_v\*\.csv found in the folder or its subfolders/);
  });

  test('with a labels CSV (semicolons, BOM): patients, modality names from the file names, exclusions', async () => {
    writeFileSync(join(folders, 'labels.csv'), '\uFEFFpatient;MGMT\ncase0;methylated\ncase1;unmethylated\ncase2;1\ncase3;n/a\nghost;0\n');
    const c = await openDataset(folders);
    expect(c.layout).toBe('folders');
    expect(c.modalities).toEqual(['FLAIR', 'T1']);
    expect(c.patients.map((p) => [p.id, p.label])).toEqual([
      ['case0', 1],
      ['case1', 0],
      ['case2', 1],
    ]);
    expect(c.excluded.map((e) => e.id).sort()).toEqual(['case3', 'ghost']);
  });

  test('0 usable patients is an error with a non-zero exit that says what was looked for and where', async () => {
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'p1'), { recursive: true });
    writeFileSync(join(empty, 'p1', 'flair.nii.gz'), '');
    writeFileSync(join(empty, 'p1', 'seg.nii.gz'), '');
    writeFileSync(join(empty, 'labels.csv'), 'id,label\np1,maybe\n');
    const e = await rejection(openDataset(empty));
    expect(e.code).toBe('ERR_EMPTY_COHORT');
    expect(e.message).toMatch(
      /0 usable patients \(layout folders, detected\)\. Looked for patient folders .*labels\.csv\.\nLeft out:\n  1 x label "maybe" is neither positive/,
    );
    const cli = spawnSync(process.execPath, [bin, 'data', 'summary', '--data', empty], { encoding: 'utf8' });
    expect(cli.status).not.toBe(0);
    expect(cli.stderr).toMatch(/0 usable patients/);
  });
});

test('spottune data summary says which layout it used, for UPENN-GBM and BraTS 2021', () => {
  const b = spawnSync(process.execPath, [bin, 'data', 'summary', '--data', brats], { encoding: 'utf8' });
  expect(b.stderr).toBe('');
  expect(b.status).toBe(0);
  expect(b.stdout).toMatch(/layout {3}brats2021 \(detected\)/);
  expect(b.stdout).toMatch(/labels {3}.*train_labels\.csv, column MGMT_value: 1 = 1, 0 = 0/);
  expect(b.stdout).toMatch(/^struct +6 /m);
  const u = spawnSync(process.execPath, [bin, 'data', 'summary', '--data', upenn, '--layout', 'upenn'], { encoding: 'utf8' });
  expect(u.status).toBe(0);
  expect(u.stdout).toMatch(/layout {3}upenn\n/);
  expect(u.stdout).toMatch(/^DSC +\d+ /m);
  const bad = spawnSync(process.execPath, [bin, 'data', 'summary', '--data', brats, '--layout', 'upenn'], { encoding: 'utf8' });
  expect(bad.status).not.toBe(0);
});
