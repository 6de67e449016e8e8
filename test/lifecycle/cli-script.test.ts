// The CLI as a script uses it: every refusal is one coded line on stderr and a non-zero exit,
// written before anything lands in --out; --json turns results and errors into one JSON document
// on stdout; a resumed run folder or cache loses the temporaries of killed writers.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRedis } from '../helpers/redis.js';

const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cli-script-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
const cohort = join(root, 'cohort');
const cache = join(root, 'cache');
const noDsc = join(root, 'cohort-no-dsc');
/** The pid of a process that has exited: a writer killed mid-write looks like this. */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;

/** `spottune data prepare` of the test cohort's DTI_FA into the shared cache (re-running resumes). */
const prepareCache = () =>
  cli(
    'data',
    'prepare',
    '--data',
    cohort,
    '--out',
    cache,
    '--modalities',
    'DTI_FA',
    '--crop',
    'small',
    '--workers',
    '0',
    '--no-progress',
    '--json',
  );

beforeAll(() => {
  const synth = cli('data', 'synth', '--out', cohort, '--patients', '4', '--no-progress', '--json');
  expect(synth.status, synth.stderr).toBe(0);
  expect(JSON.parse(synth.stdout)).toMatchObject({ root: cohort, scans: expect.any(Number), files: expect.any(Number) });
  const prep = prepareCache();
  expect(prep.status, prep.stderr).toBe(0);
  expect(JSON.parse(prep.stdout)).toMatchObject({
    dir: cache,
    prepared: 4,
    reused: 0,
    patients: 4,
    shape: [35, 43, 43],
    interrupted: false,
  });
  cpSync(cohort, noDsc, { recursive: true });
  rmSync(join(noDsc, 'images_DSC'), { recursive: true, force: true });
}, 300_000);

/** One line, `spottune: <message> (<code>)`; returns the code. */
function expectOneCodedLine(run: ReturnType<typeof cli>, names: string | RegExp): string {
  expect(run.status, run.stderr).toBe(1);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  const m = /^spottune: (.+) \(((?:ERR_[A-Z_]+)|(?:E[A-Z]+))\)$/.exec(lines[0]);
  expect(m, lines[0]).not.toBeNull();
  expect(m![1]).toMatch(names);
  return m![2];
}

describe('every refusal is one coded line naming the option or file, and writes nothing', () => {
  const out = () => join(root, 'never');
  const cases: Array<[string, () => string[], string | RegExp, string]> = [
    ['synth --patients -5', () => ['data', 'synth', '--out', out(), '--patients', '-5'], "'--patients <n>'", 'ERR_INVALID_OPTION'],
    ['synth --patients abc', () => ['data', 'synth', '--out', out(), '--patients', 'abc'], "'--patients <n>'", 'ERR_INVALID_OPTION'],
    ['synth --size huge', () => ['data', 'synth', '--out', out(), '--size', 'huge'], "'--size <size>'", 'ERR_INVALID_OPTION'],
    [
      'synth --compression 0',
      () => ['data', 'synth', '--out', out(), '--compression', '0'],
      "'--compression <level>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'synth --signal-modalities XX',
      () => ['data', 'synth', '--out', out(), '--signal-modalities', 'XX'],
      '--signal-modalities',
      'ERR_INVALID_OPTION',
    ],
    ['synth without --out', () => ['data', 'synth'], "'--out <dir>'", 'ERR_MISSING_OPTION'],
    [
      'prepare --crop bogus',
      () => ['data', 'prepare', '--data', cohort, '--out', out(), '--crop', 'bogus'],
      "'--crop <box>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'prepare --scale -1',
      () => ['data', 'prepare', '--data', cohort, '--out', out(), '--scale', '-1'],
      "'--scale <x>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'prepare --pad-to 1,2',
      () => ['data', 'prepare', '--data', cohort, '--out', out(), '--pad-to', '1,2'],
      "'--pad-to <shape>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'prepare --workers -1',
      () => ['data', 'prepare', '--data', cohort, '--out', out(), '--workers', '-1'],
      "'--workers <n>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'prepare --modalities XX',
      () => ['data', 'prepare', '--data', cohort, '--out', out(), '--modalities', 'XX'],
      '--modalities',
      'ERR_INVALID_OPTION',
    ],
    [
      'prepare --data missing',
      () => ['data', 'prepare', '--data', join(root, 'missing'), '--out', out()],
      `--data ${join(root, 'missing')}: no such file or directory`,
      'ENOENT',
    ],
    ['prepare --data a file', () => ['data', 'prepare', '--data', bin, '--out', out()], `--data ${bin}: not a directory`, 'ENOTDIR'],
    ['summary --data missing', () => ['data', 'summary', '--data', join(root, 'missing')], '--data', 'ENOENT'],
    [
      'train --epochs 0',
      () => ['train', '--cache', cache, '--modality', 'DTI_FA', '--fold', '0', '--out', out(), '--epochs', '0'],
      "'--epochs <n>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'train --batch-size 0',
      () => ['train', '--cache', cache, '--modality', 'DTI_FA', '--fold', '0', '--out', out(), '--batch-size', '0'],
      "'--batch-size <n>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'train --seed -5',
      () => ['train', '--cache', cache, '--modality', 'DTI_FA', '--fold', '0', '--out', out(), '--seed', '-5'],
      "'--seed <n>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'train --fold x',
      () => ['train', '--cache', cache, '--modality', 'DTI_FA', '--fold', 'x', '--out', out()],
      "'--fold <k>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'train --device tpu',
      () => ['train', '--cache', cache, '--modality', 'DTI_FA', '--fold', '0', '--out', out(), '--device', 'tpu'],
      "'--device <device>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'train --weights missing',
      () => ['train', '--cache', cache, '--modality', 'DTI_FA', '--fold', '0', '--out', out(), '--weights', join(root, 'resnet_50.pth')],
      '--weights',
      'ENOENT',
    ],
    [
      'train --cache missing',
      () => ['train', '--cache', join(root, 'missing'), '--modality', 'DTI_FA', '--network', 'random', '--fold', '0', '--out', out()],
      '--cache',
      'ENOENT',
    ],
    [
      'weights inspect missing',
      () => ['weights', 'inspect', join(root, 'missing.pth')],
      'missing.pth: no such file or directory',
      'ENOENT',
    ],
    ['weights inspect a folder', () => ['weights', 'inspect', root], 'is a directory', 'EISDIR'],
    [
      'embed --arch resnet51',
      () => ['embed', '--weights', 'x.pth', '--input', 'x.nii', '--arch', 'resnet51'],
      "'--arch <name>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'radiomics --modalities XX',
      () => ['radiomics', 'extract', '--data', cohort, '--out', join(out(), 'r.csv'), '--modalities', 'XX'],
      '--modalities',
      'ERR_INVALID_OPTION',
    ],
    [
      'radiomics --modalities the cohort lacks',
      () => ['radiomics', 'extract', '--data', noDsc, '--out', join(out(), 'r.csv'), '--modalities', 'DSC_PH', '--no-progress'],
      '--modalities DSC_PH: no patient',
      'ERR_MISSING_MODALITY',
    ],
    [
      'experiment --concurrency 0',
      () => ['experiment', '--out', out(), '--data', cohort, '--concurrency', '0'],
      "'--concurrency <k>'",
      'ERR_INVALID_OPTION',
    ],
    [
      'experiment --config missing',
      () => ['experiment', '--out', out(), '--data', cohort, '--config', join(root, 'missing.json')],
      'missing.json',
      'ERR_INVALID_CONFIG',
    ],
    [
      'worker --runner missing',
      () => ['worker', '--queue', 'redis://127.0.0.1:1', '--runner', join(root, 'missing.mjs')],
      '--runner',
      'ERR_MODULE_NOT_FOUND',
    ],
    [
      'worker --device tpu',
      () => ['worker', '--queue', 'redis://127.0.0.1:1', '--device', 'tpu'],
      "'--device <device>'",
      'ERR_INVALID_OPTION',
    ],
    ['worker --queue http://', () => ['worker', '--queue', 'http://127.0.0.1:1'], 'http://127.0.0.1:1', 'ERR_INVALID_OPTION'],
    ['demo --patients 0', () => ['demo', '--out', out(), '--patients', '0'], "'--patients <n>'", 'ERR_INVALID_OPTION'],
    ['an unknown option', () => ['data', 'synth', '--out', out(), '--bogus'], "'--bogus'", 'ERR_UNKNOWN_OPTION'],
    ['an unknown command', () => ['bogus'], "'bogus'", 'ERR_UNKNOWN_COMMAND'],
    [
      '--out under /proc',
      () => ['data', 'synth', '--out', '/proc/spottune-x', '--patients', '1', '--no-progress'],
      '--out: Cannot create the folder /proc/spottune-x',
      'ERR_CANNOT_CREATE_DIR',
    ],
    [
      '--out under a file',
      () => ['data', 'synth', '--out', join(bin, 'x'), '--patients', '1', '--no-progress'],
      'is not a directory',
      'ERR_CANNOT_CREATE_DIR',
    ],
  ];
  test.each(cases)('%s', (_name, args, names, code) => {
    try {
      expect(expectOneCodedLine(cli(...args()), names)).toBe(code);
      expect(existsSync(out()), 'something was written into --out').toBe(false);
    } finally {
      rmSync(out(), { recursive: true, force: true }); // one failure must not fail the cases after it
    }
  });

  test('an unreachable queue fails in seconds, naming the URL', () => {
    const started = Date.now();
    const status = cli('experiment', '--queue', 'redis://127.0.0.1:1', '--status', '--out', out());
    expect(expectOneCodedLine(status, 'redis://127.0.0.1:1')).toBe('ERR_QUEUE_UNREACHABLE');
    const worker = cli('worker', '--queue', 'redis://127.0.0.1:1');
    expect(expectOneCodedLine(worker, 'redis://127.0.0.1:1')).toBe('ERR_QUEUE_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  test('experiment --status --json prints the queue status as JSON', async () => {
    const redis = await startRedis();
    try {
      const run = spawnSync(
        process.execPath,
        [bin, 'experiment', '--queue', redis.url, '--status', '--out', join(root, 'queued'), '--json'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ pending: [], active: [], done: [], failed: [] });
    } finally {
      await redis.dispose();
    }
  }, 60_000);

  test('with --json the error is also a JSON object on stdout', () => {
    const run = cli('data', 'synth', '--out', out(), '--patients', '0', '--json');
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'ERR_INVALID_OPTION', message: expect.stringContaining('--patients') } });
    const config = join(root, 'bad.json');
    writeFileSync(config, JSON.stringify({ train: { epochs: 0, batchSize: -1 } }));
    // a configuration's several problems: one coded line, then one line per key path
    const bad = cli('experiment', '--out', out(), '--data', cohort, '--config', config, '--json');
    expect(bad.status).toBe(1);
    expect(bad.stderr.split('\n')[0]).toMatch(/^spottune: Invalid .*bad\.json \(ERR_INVALID_CONFIG\)$/);
    expect(JSON.parse(bad.stdout).error).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      issues: [{ path: 'train.epochs' }, { path: 'train.batchSize' }],
    });
  });
});

describe('train as a script runs it', () => {
  // 24 patients from the 4 prepared: enough of each class for the study's stratified 5 folds
  const wide = join(root, 'wide');
  beforeAll(() => {
    cpSync(cache, wide, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(wide, 'manifest.json'), 'utf8'));
    const base = [...manifest.patients];
    for (let copy = 1; copy < 6; copy++) {
      for (const p of base) {
        const id = `${p.id}c${copy}`;
        manifest.patients.push({ ...p, id });
        const entry = manifest.entries[p.id].DTI_FA;
        cpSync(join(wide, entry.file), join(wide, `${id}_DTI_FA.npy`));
        manifest.entries[id] = { DTI_FA: { ...entry, file: `${id}_DTI_FA.npy` } };
      }
    }
    writeFileSync(join(wide, 'manifest.json'), JSON.stringify(manifest));
  });

  test('--fold 9 is refused before splits.json is written', () => {
    const out = join(root, 'run9');
    const run = cli('train', '--cache', wide, '--modality', 'DTI_FA', '--network', 'random', '--fold', '9', '--out', out, '--no-progress');
    expect(run.stderr).toMatch(/--fold in \[0, 4\]/);
    expect(run.status).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  test('--json prints the selection; --resume removes the temporaries of a killed writer', () => {
    const out = join(root, 'run');
    const args = [
      'train',
      '--cache',
      wide,
      '--modality',
      'DTI_FA',
      '--network',
      'random',
      '--depth',
      '10',
      '--fold',
      '0',
      '--out',
      out,
      '--epochs',
      '1',
      '--batch-size',
      '4',
      '--no-augment',
      '--no-progress',
      '--json',
    ];
    const first = cli(...args);
    expect(first.status, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({
      out,
      modality: 'DTI_FA',
      network: 'random',
      fold: 0,
      selectedEpoch: 0,
      validation: { auc: expect.any(Number) },
    });
    expect(existsSync(join(out, 'splits.json'))).toBe(true);
    const stale = `.checkpoint.pth.${deadPid()}.0badf00d.tmp`;
    const live = `.checkpoint.pth.${process.pid}.00c0ffee.tmp`;
    writeFileSync(join(out, stale), new Uint8Array(1024));
    writeFileSync(join(out, live), new Uint8Array(16));
    const again = cli(...args, '--resume');
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).selectedEpoch).toBe(result.selectedEpoch);
    expect(readdirSync(out)).not.toContain(stale);
    expect(readdirSync(out)).toContain(live);
  }, 300_000);

  test('prepare again on a cache removes the temporaries of a killed writer', () => {
    const stale = `.UPENN-GBM-00001_11_DTI_FA.npy.${deadPid()}.0badf00d.tmp`;
    writeFileSync(join(cache, stale), new Uint8Array(1024));
    const prep = prepareCache(); // the same command again
    expect(prep.status, prep.stderr).toBe(0);
    expect(JSON.parse(prep.stdout)).toMatchObject({ prepared: 0, reused: 4 });
    expect(readdirSync(cache)).not.toContain(stale);
  });
});
