import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCohort, parseCsv, summarizeCohort } from '../../lib/data/cohort.js';
import { writeNifti } from '../../lib/io/nifti.js';

const root = mkdtempSync(join(tmpdir(), 'spottune-cohort-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));

const tiny = {
  data: new Uint8Array(8).fill(1),
  shape: [2, 2, 2] as [number, number, number],
  spacing: [1, 1, 1] as [number, number, number],
  affine: [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ],
};
async function nii(path: string): Promise<void> {
  await writeNifti(join(root, path), tiny);
}
function file(path: string, text = ''): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

const STRUCT = ['T1', 'T1GD', 'T2', 'FLAIR'];
beforeAll(async () => {
  const id1 = 'UPENN-GBM-00001_11';
  for (const m of STRUCT) await nii(`images_structural/${id1}/${id1}_${m}.nii.gz`);
  await nii(`images_structural/${id1}/old/${id1}_T1.nii.gz`); // 2023 package: ignored
  await nii(`images_structural/${id1}/${id1}_T1c.nii.gz`); // unknown suffix: reported
  file(`images_structural/${id1}/notes.txt`, 'x');
  // nested DTI (Faspex), all four
  for (const m of ['AD', 'FA', 'RD', 'TR']) await nii(`images_DTI/images_DTI/${id1}/${id1}_DTI_${m}.nii.gz`);

  const id2 = 'UPENN-GBM-00002_11';
  for (const m of STRUCT) await nii(`images_structural/${id2}/${id2}_${m}.nii`);
  for (const m of ['AD', 'FA', 'RD']) await nii(`images_DTI/${id2}/${id2}_DTI_${m}.nii.gz`); // not nested, TR missing
  for (const m of ['ap-rCBV', 'PH', 'PSR']) await nii(`images_DSC/${id2}/${id2}_DSC_${m}.nii.gz`);
  await nii(`images_DSC/${id2}/${id2}_DSC.nii.gz`); // the 4-D series: ignored

  const id3 = 'UPENN-GBM-00003_11'; // Indeterminate
  for (const m of STRUCT) await nii(`images_structural/${id3}/${id3}_${m}.nii.gz`);
  const id4 = 'UPENN-GBM-00004_11'; // no automated mask
  for (const m of STRUCT) await nii(`images_structural/${id4}/${id4}_${m}.nii.gz`);
  const fu = 'UPENN-GBM-00001_21'; // follow-up
  for (const m of STRUCT) await nii(`images_structural/${fu}/${fu}_${m}.nii.gz`);
  const id6 = 'UPENN-GBM-00006_11'; // on disk but not in the CSV
  for (const m of STRUCT) await nii(`images_structural/${id6}/${id6}_${m}.nii.gz`);

  for (const id of [id1, id2, id3, id6]) await nii(`automated_segm/${id}_automated_approx_segm.nii.gz`);
  await nii(`images_segm/${id2}_segm.nii.gz`);
  file('images_segm/README', 'stray');
  file('images_DSC/stray.nii.gz', '');

  file('UPENN-GBM_clinical_info_v1.0.csv', 'ID,MGMT\nUPENN-GBM-00001_11,Unmethylated\n'); // older: not used
  file(
    'UPENN-GBM_clinical_info_v2.1.csv',
    '\uFEFFID,Gender,"Note, quoted",MGMT\r\n' +
      'UPENN-GBM-00001_11,M,"a, b",Methylated\r\n' +
      'UPENN-GBM-00001_21,M,"",Methylated\r\n' +
      'UPENN-GBM-00002_11,F,"say ""hi""",Unmethylated\r\n' +
      'UPENN-GBM-00003_11,F,,Indeterminate\r\n' +
      'UPENN-GBM-00004_11,F,,Methylated\r\n' +
      'UPENN-GBM-00005_11,F,,Methylated\r\n' +
      'UPENN-GBM-00007_11,F,,Not Available\r\n',
  );
});

describe('openCohort on a hand-made UPENN-GBM layout', () => {
  test('keeps baseline scans with definite MGMT and a mask, sorted, with labels and groups', async () => {
    const c = await openCohort(root);
    expect(c.clinicalCsv).toBe(join(root, 'UPENN-GBM_clinical_info_v2.1.csv'));
    expect(c.patients.map((p) => [p.id, p.label, p.mgmt, p.groups])).toEqual([
      ['UPENN-GBM-00001_11', 1, 'Methylated', ['struct', 'DTI']],
      ['UPENN-GBM-00002_11', 0, 'Unmethylated', ['struct', 'DSC']],
    ]);
    const p1 = c.patients[0];
    expect(p1.images.DTI_FA).toBe(join(root, 'images_DTI/images_DTI/UPENN-GBM-00001_11/UPENN-GBM-00001_11_DTI_FA.nii.gz'));
    expect(p1.images.T1).toBe(join(root, 'images_structural/UPENN-GBM-00001_11/UPENN-GBM-00001_11_T1.nii.gz')); // not old/, not T1c
    expect(c.patients[1].images.T2).toMatch(/_T2\.nii$/);
    expect(c.groups.struct).toMatchObject({ ids: ['UPENN-GBM-00001_11', 'UPENN-GBM-00002_11'], methylated: 1, unmethylated: 1 });
    expect(c.groups.DTI.incomplete).toEqual([{ id: 'UPENN-GBM-00002_11', missing: ['DTI_TR'] }]);
    expect(c.groups.DSC.ids).toEqual(['UPENN-GBM-00002_11']);
  });

  test('reports every exclusion, unmatched and ignored file', async () => {
    const c = await openCohort(root);
    expect(c.excluded).toEqual([
      { id: 'UPENN-GBM-00001_21', reason: 'not a pre-operative baseline scan (_21)' },
      { id: 'UPENN-GBM-00003_11', reason: 'MGMT Indeterminate' },
      { id: 'UPENN-GBM-00004_11', reason: 'no automated tumour mask (automated_segm)' },
      { id: 'UPENN-GBM-00005_11', reason: 'MGMT known but no images on disk' },
      { id: 'UPENN-GBM-00006_11', reason: 'not in the clinical CSV' },
    ]);
    expect(c.unmatched.map((u) => u.path)).toEqual([
      'images_DSC/stray.nii.gz',
      'images_segm/README',
      'images_structural/UPENN-GBM-00001_11/UPENN-GBM-00001_11_T1c.nii.gz',
      'images_structural/UPENN-GBM-00001_11/notes.txt',
    ]);
    expect(c.unmatched[2].reason).toMatch(/unknown struct modality suffix "T1c"/);
    expect(c.ignored.map((u) => u.path)).toEqual([
      'UPENN-GBM_clinical_info_v1.0.csv',
      'images_DSC/UPENN-GBM-00002_11/UPENN-GBM-00002_11_DSC.nii.gz',
      'images_structural/UPENN-GBM-00001_11/old',
    ]);
    const s = summarizeCohort(c);
    expect(s).toMatchObject({ patients: 2, methylated: 1, unmethylated: 1, unmatched: 4, ignored: 3 });
    expect(s.groups.DTI).toEqual({ patients: 1, methylated: 1, unmethylated: 0, incomplete: 1 });
  });

  test("mask 'corrected' takes images_segm where present, automated elsewhere", async () => {
    const c = await openCohort(root, { mask: 'corrected' });
    expect(c.patients.map((p) => p.maskSource)).toEqual(['automated', 'corrected']);
    expect(c.patients[1].mask).toBe(join(root, 'images_segm/UPENN-GBM-00002_11_segm.nii.gz'));
  });

  test('an explicit clinical CSV, and clear errors', async () => {
    const c = await openCohort(root, { clinicalCsv: join(root, 'UPENN-GBM_clinical_info_v1.0.csv') });
    expect(c.patients.map((p) => [p.id, p.label])).toEqual([['UPENN-GBM-00001_11', 0]]);
    await expect(openCohort(join(root, 'nope'))).rejects.toThrow(/not a directory/);
    await expect(openCohort(root, { mask: 'manual' as never })).rejects.toThrow(RangeError);
    const bad = mkdtempSync(join(tmpdir(), 'spottune-cohort-bad-'));
    writeFileSync(join(bad, 'UPENN-GBM_clinical_info_v3.csv'), 'Subject,Status\n');
    await expect(openCohort(bad)).rejects.toThrow(/expected columns "ID" and "MGMT"/);
    rmSync(bad, { recursive: true });
  });

  test('parseCsv handles quotes, doubled quotes, CRLF and blank lines', () => {
    expect(parseCsv('a,"b,c","d ""e"""\r\n\r\n1,2,3')).toEqual([
      ['a', 'b,c', 'd "e"'],
      ['1', '2', '3'],
    ]);
  });

  test('spottune data summary prints counts per group and class', () => {
    const out = spawnSync(process.execPath, [bin, 'data', 'summary', '--data', root], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^struct\s+2\s+1\s+1\s+0$/m);
    expect(out.stdout).toMatch(/^DTI\s+1\s+1\s+0\s+1$/m);
    expect(out.stdout).toMatch(/^any\s+2\s+1\s+1$/m);
    expect(out.stdout).toMatch(/MGMT Indeterminate/);
    const json = spawnSync(process.execPath, [bin, 'data', 'summary', '--data', root, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout).summary.patients).toBe(2);
  });
});
