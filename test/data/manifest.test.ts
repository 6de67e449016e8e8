import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  detectDelimiter,
  ManifestError,
  parseDelimited,
  parseManifestCsv,
  parseManifestJson,
  readManifest,
} from '../../lib/data/cohort/manifest.js';

const root = mkdtempSync(join(tmpdir(), 'spottune-manifest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function issuesOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ManifestError) return err;
    throw err;
  }
  throw new Error('expected a ManifestError');
}

describe('CSV manifests', () => {
  test('columns: id, label, segmentation and the image columns (paths), relative to the root', () => {
    const m = parseManifestCsv(
      'id,label,flair,t1ce,seg,age\nP2,0,P2/flair.nii.gz,P2/t1ce.nii.gz,P2/seg.nii.gz,61\nP1,1,P1/flair.nii.gz,,P1/seg.nii.gz,50\n',
      'm.csv',
      { root },
    );
    expect(m.modalities).toEqual(['flair', 't1ce']); // 'age' holds no NIfTI path: not a modality
    expect(m.patients.map((p) => [p.id, p.label, Object.keys(p.images)])).toEqual([
      ['P1', 1, ['flair']],
      ['P2', 0, ['flair', 't1ce']],
    ]);
    expect(m.patients[0].segmentation).toBe(join(root, 'P1/seg.nii.gz'));
    expect(m.modalityGroups).toEqual({ flair: ['flair'], t1ce: ['t1ce'] });
    expect(m.regions.core).toEqual([1, 4]);
  });

  test("Excel's semicolons and a BOM; image:<name> columns; a value mapping from any column", () => {
    const text =
      '\uFEFFsubject;MGMT status;image:FLAIR;mask\r\nA;Methylated;a.nii;a_seg.nii\r\nB;unmethylated;b.nii;b_seg.nii\r\nC;Indeterminate;c.nii;c_seg.nii\r\n';
    expect(detectDelimiter(text)).toBe(';');
    const m = parseManifestCsv(text, 'excel.csv', { root, endpoint: { column: 'mgmt status', name: 'MGMT' } });
    expect(m.modalities).toEqual(['FLAIR']);
    expect(m.patients.map((p) => [p.id, p.label])).toEqual([
      ['A', 1],
      ['B', 0],
    ]);
    expect(m.excluded).toEqual([{ id: 'C', reason: expect.stringMatching(/^MGMT "Indeterminate" is neither positive/) }]);
    expect(m.endpoint.column).toBe('MGMT status');
  });

  test('errors name the row and the field, all at once', () => {
    const e = issuesOf(() =>
      parseManifestCsv(
        'id,label,flair,seg\nP1,1,p1.nii.gz,p1s.nii.gz\nP1,0,p.nii.gz,ps.nii.gz\n,1,x.nii.gz,xs.nii.gz\nP3,1,p3.nii.gz,\n',
        'bad.csv',
      ),
    );
    expect(e.code).toBe('ERR_INVALID_MANIFEST');
    expect(e.issues).toEqual([
      { row: 2, field: 'id', message: 'duplicate patient ID "P1" (first on row 1)' },
      { row: 3, field: 'id', message: expect.stringMatching(/expected a patient ID/) },
      { row: 4, field: 'segmentation', message: 'no segmentation path' },
    ]);
    expect(e.message).toMatch(/bad\.csv:\n {2}- row 2, field "id": duplicate/);
  });

  test('a missing column says what the header has, and hints at the delimiter', () => {
    const e = issuesOf(() => parseManifestCsv('id|label|seg\nP1|1|a.nii\n', 'pipes.csv'));
    expect(e.issues[0]).toMatchObject({
      field: 'id',
      message: expect.stringMatching(/the header has "id\|label\|seg".*pass the delimiter/),
    });
  });

  test('parseDelimited: quotes, doubled quotes, CRLF, blank lines, tabs', () => {
    expect(parseDelimited('a\t"b\tc"\r\n\r\n1\t2', '\t')).toEqual([
      ['a', 'b\tc'],
      ['1', '2'],
    ]);
  });
});

describe('JSON manifests', () => {
  test('patients, groups, regions and an endpoint', async () => {
    const doc = {
      endpoint: { name: 'IDH', positive: ['mutant'], negative: ['wildtype'] },
      modalityGroups: { anat: ['T1', 'FLAIR'] },
      regions: { necrotic: [1], enhancing: [3], core: [1, 3], oedema: [2], whole: [1, 2, 3] },
      patients: [
        { id: 'X1', label: 'mutant', images: { T1: 'x1/t1.nii.gz', FLAIR: '/abs/x1_flair.nii.gz' }, segmentation: 'x1/seg.nii.gz' },
        { id: 7, label: 'wildtype', images: { T1: 'x7/t1.nii.gz' }, segmentation: 'x7/seg.nii.gz' },
      ],
    };
    mkdirSync(join(root, 'j'), { recursive: true });
    writeFileSync(join(root, 'j', 'cohort.json'), JSON.stringify(doc));
    const m = await readManifest(join(root, 'j', 'cohort.json'));
    expect(m.root).toBe(join(root, 'j'));
    expect(m.patients.map((p) => [p.id, p.label])).toEqual([
      ['7', 0],
      ['X1', 1],
    ]);
    expect(m.patients[1].images).toEqual({ T1: join(root, 'j', 'x1/t1.nii.gz'), FLAIR: '/abs/x1_flair.nii.gz' });
    expect(m.regions.enhancing).toEqual([3]);
    expect(m.modalityGroups).toEqual({ anat: ['T1', 'FLAIR'] });
  });

  test('a group naming an unknown modality, a bad region and a bad path are errors naming the field', () => {
    const e = issuesOf(() =>
      parseManifestJson(
        JSON.stringify({
          modalityGroups: { g: ['T2'] },
          regions: { core: [] },
          patients: [{ id: 'A', label: 1, images: { T1: 5 }, segmentation: 's.nii' }],
        }),
        'c.json',
      ),
    );
    expect(e.issues).toEqual([
      { field: 'modalityGroups.g', message: 'unknown modality "T2"; the manifest has T1' },
      { field: 'regions.core', message: expect.stringMatching(/non-empty list of positive integer/) },
      { row: 1, field: 'T1', message: 'expected a file path but received 5 (number)' },
    ]);
    expect(issuesOf(() => parseManifestJson('{"patients": 3}', 'p.json')).issues[0].field).toBe('patients');
    expect(issuesOf(() => parseManifestJson('{', 'q.json')).issues[0].message).toMatch(/not valid JSON/);
  });
});
