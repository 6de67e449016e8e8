// `spottune data prepare` and `spottune radiomics extract` on any layout: the BraTS 2021 twin of a
// synthetic UPENN-GBM cohort gives the same volumes and features under its own names, and a
// UPENN-GBM run naming its layout and labels gives what it gave without them. Spawns bin/ against
// dist/ (build it first: npx tsc -p tsconfig.build.json).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCohort } from '../../lib/data/cohort.js';
import { synthCohort } from '../../lib/data/synth.js';

const root = mkdtempSync(join(tmpdir(), 'spottune-any-cohort-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));
const upenn = join(root, 'upenn');
const brats = join(root, 'brats');
let clinicalCsv: string;
/** The `--json` result of the plain UPENN-GBM prepare run. */
let upennPrepared: unknown;

beforeAll(async () => {
  const options = { patients: 4, size: 'small', seed: 5, compressionLevel: 1 } as const;
  await synthCohort({ ...options, out: upenn });
  await synthCohort({ ...options, out: brats, layout: 'brats2021' });
  clinicalCsv = (await openCohort(upenn)).clinicalCsv!;
}, 240_000);

function spottune(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

/** The five-digit number of a UPENN-GBM or BraTS ID, which the twin shares. */
const num = (id: string) => Number(/(\d{5})/.exec(id)![1]);

/** The prepared `.npy` files of a cache, by file name. */
function npys(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.npy'))
      .sort()
      .map((f) => [f, readFileSync(join(dir, f))]),
  );
}

/** A `--json` result without the fields that differ from run to run. */
function result(stdout: string) {
  const { seconds: _s, dir: _d, out: _o, exclusions: _e, ...rest } = JSON.parse(stdout);
  return rest;
}

function readCsv(file: string) {
  const [header, ...rows] = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  return { header, rows };
}

describe('spottune data prepare', () => {
  const prepare = ['--crop', 'small', '--workers', '0', '--no-progress', '--json'];

  test('BraTS 2021: detected, the same volumes as UPENN-GBM under the twin names (t1ce is T1GD)', () => {
    const b = spottune('data', 'prepare', '--data', brats, '--out', join(root, 'cache-brats'), '--modalities', 't1ce,flair', ...prepare);
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
    const u = spottune('data', 'prepare', '--data', upenn, '--out', join(root, 'cache-upenn'), '--modalities', 'T1GD,FLAIR', ...prepare);
    expect(u.status).toBe(0);
    const [rb, ru] = [result(b.stdout), result(u.stdout)];
    upennPrepared = ru;
    expect(rb.patients).toBe(4);
    expect(rb).toEqual(ru);
    const fb = npys(join(root, 'cache-brats'));
    const fu = npys(join(root, 'cache-upenn'));
    expect(fb.size).toBe(8);
    const twin = (f: string) => `UPENN-GBM-${String(num(f)).padStart(5, '0')}_11_${f.endsWith('_t1ce.npy') ? 'T1GD' : 'FLAIR'}.npy`;
    for (const [f, bytes] of fb) expect(bytes.equals(fu.get(twin(f))!), f).toBe(true);
  });

  test('UPENN-GBM with --layout upenn --labels <clinical CSV>: the same cache as without', () => {
    const out = join(root, 'cache-upenn-flags');
    const r = spottune(
      'data',
      'prepare',
      '--data',
      upenn,
      '--out',
      out,
      '--layout',
      'upenn',
      '--labels',
      clinicalCsv,
      '--modalities',
      'T1GD,FLAIR',
      ...prepare,
    );
    expect(r.status).toBe(0);
    expect(result(r.stdout)).toEqual(upennPrepared);
    const [a, b] = [npys(out), npys(join(root, 'cache-upenn'))];
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [f, bytes] of a) expect(bytes.equals(b.get(f)!), f).toBe(true);
    const manifest = (dir: string) => {
      const { dir: _d, createdAt: _c, ...rest } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      return rest;
    };
    expect(manifest(out)).toEqual(manifest(join(root, 'cache-upenn')));
  });

  test('a wrong layout, a modality the layout does not name, or conflicting labels: one coded line, nothing written', () => {
    const out = join(root, 'never');
    const wrong = spottune('data', 'prepare', '--data', brats, '--out', out, '--layout', 'upenn', '--no-progress');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/^spottune: .* \(ERR_[A-Z_]+\)\n$/);
    const name = spottune('data', 'prepare', '--data', brats, '--out', out, '--modalities', 'T1GD', '--no-progress', '--json');
    expect(name.status).not.toBe(0);
    const error = JSON.parse(name.stdout).error;
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toMatch(/--modalities entry.*t1ce/);
    const both = spottune(
      'data',
      'prepare',
      '--data',
      upenn,
      '--out',
      out,
      '--labels',
      clinicalCsv,
      '--clinical-csv',
      join(brats, 'train_labels.csv'),
    );
    expect(both.stderr).toMatch(/\(ERR_CONFLICTING_OPTIONS\)\n$/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('spottune radiomics extract', () => {
  const extract = ['--regions', 'whole', '--no-progress', '--json'];

  test('BraTS 2021: the features of the UPENN-GBM twin, under the twin names', () => {
    const b = spottune('radiomics', 'extract', '--data', brats, '--out', join(root, 'brats.csv'), '--modalities', 't1ce', ...extract);
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
    const u = spottune('radiomics', 'extract', '--data', upenn, '--out', join(root, 'upenn.csv'), '--modalities', 'T1GD', ...extract);
    expect(u.status).toBe(0);
    expect(result(b.stdout)).toEqual(result(u.stdout));
    expect(result(b.stdout).patients).toBe(4);
    const [cb, cu] = [readCsv(join(root, 'brats.csv')), readCsv(join(root, 'upenn.csv'))];
    expect(cb.header.slice(2).every((c) => c.startsWith('t1ce_whole_'))).toBe(true);
    expect(cb.header.map((c) => c.replace(/^t1ce_/, 'T1GD_'))).toEqual(cu.header);
    expect(cb.rows.map((r) => [num(r[0]), ...r.slice(1)])).toEqual(cu.rows.map((r) => [num(r[0]), ...r.slice(1)]));
  });

  test('UPENN-GBM with --layout upenn --labels <clinical CSV>: the same CSV as without', () => {
    const out = join(root, 'upenn-flags.csv');
    const r = spottune(
      'radiomics',
      'extract',
      '--data',
      upenn,
      '--out',
      out,
      '--layout',
      'upenn',
      '--labels',
      clinicalCsv,
      '--modalities',
      'T1GD',
      ...extract,
    );
    expect(r.status).toBe(0);
    expect(result(r.stdout)).toEqual(
      result(
        spottune('radiomics', 'extract', '--data', upenn, '--out', join(root, 'upenn.csv'), '--modalities', 'T1GD', ...extract).stdout,
      ),
    );
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(root, 'upenn.csv'), 'utf8'));
  });

  test("--study on a cohort without UPENN-GBM's structural names, a wrong layout: one coded line, nothing written", () => {
    const out = join(root, 'never.csv');
    const study = spottune('radiomics', 'extract', '--data', brats, '--out', out, '--study', '--no-progress', '--json');
    expect(study.status).not.toBe(0);
    expect(JSON.parse(study.stdout).error).toMatchObject({ code: 'ERR_MISSING_MODALITY' });
    expect(study.stderr).toMatch(
      /^spottune: --study needs the modalities T2, FLAIR, T1, T1GD; the cohort \(layout brats2021\) has t1, t1ce, t2, flair \(ERR_MISSING_MODALITY\)\n$/,
    );
    const wrong = spottune('radiomics', 'extract', '--data', brats, '--out', out, '--layout', 'folders', '--labels', clinicalCsv);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
