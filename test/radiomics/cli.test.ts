// `spottune radiomics extract` on a small synthetic UPENN-GBM cohort.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { synthCohort } from '../../lib/data/synth.js';
import { openCohort } from '../../lib/data/cohort.js';
import { readNifti } from '../../lib/io/nifti.js';
import { STUDY_FEATURES, extractRadiomics, studyFeatures } from '../../lib/radiomics/index.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'radiomics-cli-'));
  await synthCohort({ out: path.join(dir, 'data'), patients: 2, size: 'small', seed: 3 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readCsv(file: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  return { header, rows };
}

describe('spottune radiomics extract', () => {
  test('--study: the six features per patient, equal to studyFeatures on the same files', async () => {
    const out = path.join(dir, 'study.csv');
    expect(
      await main(['node', 'spottune', 'radiomics', 'extract', '--data', path.join(dir, 'data'), '--out', out, '--study', '--no-progress']),
    ).toBe(0);
    const { header, rows } = readCsv(out);
    expect(header).toEqual(['id', 'label', ...STUDY_FEATURES.map((f) => f.name)]);
    const cohort = await openCohort(path.join(dir, 'data'));
    expect(rows.map((r) => r[0])).toEqual(cohort.patients.map((p) => p.id));
    const p = cohort.patients[0];
    const [segmentation, T1, T1GD, T2, FLAIR] = await Promise.all(
      [p.mask, p.images.T1!, p.images.T1GD!, p.images.T2!, p.images.FLAIR!].map((f) => readNifti(f)),
    );
    const { values } = studyFeatures({ segmentation, T1, T1GD, T2, FLAIR });
    STUDY_FEATURES.forEach((f, k) => {
      if (rows[0][k + 2] === '') return;
      expect(Number(rows[0][k + 2])).toBe(values[f.name]);
    });
    expect(rows[0].slice(2).filter((v) => v !== '').length).toBeGreaterThan(0);
  });

  test('all features of the chosen modalities and regions, with an exclusions file beside', async () => {
    const out = path.join(dir, 'all.csv');
    const args = ['--modalities', 'T1,FLAIR', '--regions', 'core,whole', '--no-progress'];
    const countArgs = ['--modalities', 'DTI_FA', '--regions', 'whole', '--bin-count', '16', '--no-progress'];
    expect(
      await main([
        'node',
        'spottune',
        'radiomics',
        'extract',
        '--data',
        path.join(dir, 'data'),
        '--out',
        path.join(dir, 'fa.csv'),
        ...countArgs,
      ]),
    ).toBe(0);
    expect(readCsv(path.join(dir, 'fa.csv')).header).toContain('DTI_FA_whole_glcm_Contrast');
    expect(await main(['node', 'spottune', 'radiomics', 'extract', '--data', path.join(dir, 'data'), '--out', out, ...args])).toBe(0);
    const { header, rows } = readCsv(out);
    expect(header).toHaveLength(2 + 2 * 2 * (19 + 24 + 16 + 5));
    expect(header).toContain('FLAIR_whole_glcm_Contrast');
    expect(header).toContain('T1_core_ngtdm_Busyness');
    const cohort = await openCohort(path.join(dir, 'data'));
    const p = cohort.patients[1];
    const [mask, t1] = await Promise.all([readNifti(p.mask), readNifti(p.images.T1!)]);
    const direct = extractRadiomics(t1, mask, { label: [1, 2, 4] });
    const col = header.indexOf('T1_whole_glszm_ZoneEntropy');
    expect(Number(rows[1][col])).toBe(direct.glszm!.ZoneEntropy);
    const exclusions = JSON.parse(readFileSync(path.join(dir, 'all.exclusions.json'), 'utf8'));
    expect(exclusions).toHaveProperty('missingFeatures');
    for (const row of rows) for (const cell of row.slice(2)) expect(cell === '' || Number.isFinite(Number(cell))).toBe(true);
  });

  test('BAD CALL: an unknown region names the flag and suggests the near miss', async () => {
    const out = path.join(dir, 'bad.csv');
    const code = await main([
      'node',
      'spottune',
      'radiomics',
      'extract',
      '--data',
      path.join(dir, 'data'),
      '--out',
      out,
      '--regions',
      'edema',
      '--no-progress',
    ]);
    expect(code).toBe(1);
  });
});
