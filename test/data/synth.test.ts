import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GEOMETRY_PRESETS } from '../../lib/config/data.js';
import { openCohort, summarizeCohort } from '../../lib/data/cohort.js';
import { tumourBox } from '../../lib/data/preprocess/index.js';
import { synthCohort, type SynthCohortResult } from '../../lib/data/synth.js';
import { readNifti } from '../../lib/io/nifti.js';

const base = mkdtempSync(join(tmpdir(), 'spottune-synth-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const root = join(base, 'cohort');
let result: SynthCohortResult;
beforeAll(async () => {
  result = await synthCohort({ out: root, patients: 8, size: 'small', seed: 5 });
});

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
    .sort();
}

describe('synthCohort writes a UPENN-GBM layout that openCohort reads back', () => {
  test('the layout has every documented quirk', () => {
    const all = files(root);
    expect(all).toContain('UPENN-GBM_clinical_info_v2.1.csv');
    expect(all.some((f) => /^images_DTI\/images_DTI\/UPENN-GBM-\d{5}_11\/UPENN-GBM-\d{5}_11_DTI_FA\.nii\.gz$/.test(f))).toBe(true);
    expect(all.some((f) => /^images_DSC\/(UPENN-GBM-\d{5}_11)\/\1_DSC\.nii\.gz$/.test(f))).toBe(true);
    expect(all.some((f) => /^images_structural\/UPENN-GBM-\d{5}_11\/old\//.test(f))).toBe(true);
    expect(all.some((f) => /_21\/UPENN-GBM-\d{5}_21_T1\.nii\.gz$/.test(f))).toBe(true);
    const auto = all.filter((f) => f.startsWith('automated_segm/'));
    const corrected = all.filter((f) => f.startsWith('images_segm/'));
    expect(auto.length).toBe(result.scans.filter((s) => !s.followUp).length);
    expect(corrected.length).toBe(result.scans.filter((s) => s.corrected).length);
    const csv = readFileSync(join(root, 'UPENN-GBM_clinical_info_v2.1.csv'), 'utf8');
    expect(csv).toMatch(/,Indeterminate,/);
    expect(csv).toMatch(/,Not Available,/);
  });

  test('openCohort keeps exactly the definite-status baseline patients and reports the rest', async () => {
    const c = await openCohort(root);
    const s = summarizeCohort(c);
    const definite = result.scans.filter((x) => !x.followUp && (x.mgmt === 'Methylated' || x.mgmt === 'Unmethylated'));
    expect(s.patients).toBe(8);
    expect(s.methylated).toBe(definite.filter((x) => x.mgmt === 'Methylated').length);
    expect(s.methylated).toBeGreaterThan(0);
    expect(s.unmethylated).toBeGreaterThan(0);
    expect(s.groups.struct.patients).toBe(8);
    expect(s.groups.DTI.patients).toBe(definite.filter((x) => x.groups.includes('DTI')).length);
    expect(s.groups.DSC.patients).toBeLessThan(8);
    expect(s.groups.DTI.incomplete).toBe(1);
    expect(s.excluded).toEqual({ 'MGMT Indeterminate': 1, 'MGMT Not Available': 1, 'not a pre-operative baseline scan (_21)': 1 });
    expect(c.unmatched).toEqual([]);
    expect(c.ignored.some((i) => i.path.endsWith('/old'))).toBe(true);
  });

  test("volumes: the 'small' geometry, stored types, labels 1/2/4, brain and tumour inside the crop box", async () => {
    const c = await openCohort(root);
    const p = c.patients[0];
    const t1 = await readNifti(p.images.T1!);
    expect(t1.shape).toEqual([...GEOMETRY_PRESETS.small.sourceShape]);
    expect(t1.spacing).toEqual([2, 2, 2]);
    expect(t1.header.dtype).toBe('int16');
    const dsc = c.patients.find((x) => x.images['DSC_ap-rCBV'])!;
    expect((await readNifti(dsc.images['DSC_ap-rCBV']!)).header.dtype).toBe('float32');
    const dti = c.patients.find((x) => x.images.DTI_FA)!;
    const fa = await readNifti(dti.images.DTI_FA!);
    expect(fa.scaled).toBe(true);
    expect(fa.data.reduce((m, v) => Math.max(m, v), 0)).toBeLessThan(1);
    const mask = await readNifti(p.mask);
    expect(new Set(mask.data)).toEqual(new Set([0, 1, 2, 4]));
    const crop = GEOMETRY_PRESETS.small.crop;
    const inside = (b: number[][]) => b.every(([s, e], i) => s >= crop[i][0] && e <= crop[i][1]);
    expect(inside(tumourBox(mask.data, mask.shape)!)).toBe(true);
    expect(inside(tumourBox(t1.data, t1.shape)!)).toBe(true); // the brain (non-zero T1)
  });

  test('methylated tumours carry the signal: the core/rim intensity ratio separates the classes (lower when methylated in T1GD)', async () => {
    const c = await openCohort(root);
    const ratios: Array<[number, number]> = [];
    for (const p of c.patients) {
      const [img, mask] = await Promise.all([readNifti(p.images.T1GD!), readNifti(p.mask)]);
      let core = 0;
      let nc = 0;
      let rim = 0;
      let nr = 0;
      for (let i = 0; i < img.data.length; i++) {
        if (mask.data[i] === 1) [core, nc] = [core + img.data[i], nc + 1];
        else if (mask.data[i] === 4) [rim, nr] = [rim + img.data[i], nr + 1];
      }
      ratios.push([core / nc / (rim / nr), p.label]);
    }
    const pos = ratios.filter(([, l]) => l === 1).map(([r]) => r);
    const neg = ratios.filter(([, l]) => l === 0).map(([r]) => r);
    expect(Math.max(...pos)).toBeLessThan(Math.min(...neg)); // the rim is T1GD's brightest class; the core darkens
  });
});

test('the same options write byte-identical files', async () => {
  const hashes = async (dir: string) => {
    await synthCohort({ out: dir, patients: 2, size: 'small', seed: 11 });
    return files(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]);
  };
  const a = await hashes(join(base, 'a'));
  const b = await hashes(join(base, 'b'));
  expect(a.length).toBeGreaterThan(10);
  expect(a).toEqual(b);
  expect(existsSync(join(base, 'a', 'automated_segm'))).toBe(true);
});

test('options are validated', async () => {
  await expect(synthCohort({ out: join(base, 'x'), patients: 0 })).rejects.toThrow();
  await expect(synthCohort({ out: join(base, 'x'), signalModalities: ['T3'] })).rejects.toThrow(/Unknown modality "T3"/);
});
