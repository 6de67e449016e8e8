// Hostile pickles: files built to exhaust memory or time (millions of objects, memo entries or
// huge integers from a few bytes each) rather than to run code. Each is written at test time by
// scripts/fixtures/hostile/make_pickles.mjs and loaded in a child process with a capped heap, which
// must fail with a coded CheckpointError well under a second, at a bounded peak RSS. A real
// MedicalNet ResNet50 state dict must meanwhile load far inside the same limits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readPth, stateDictOf } from '../../lib/io/index.js';
import { generateAttacks, readInChild } from '../helpers/hostile.js';

const dir = mkdtempSync(join(tmpdir(), 'spottune-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const attacks = generateAttacks<{ file: string; format: string; attack: string; code: string }>('make_pickles.mjs', dir);

const HEAP_MIB = 256; // a regression runs out of heap here and crashes the child, failing the test
const RSS_MIB = 256; // measured 70-140 (node and the library take about 50, the file up to 21)
const TIME_MS = 1000; // measured 20-350 on a loaded two-core machine

describe('hostile pickles fail fast, coded, in bounded memory', () => {
  test('the generator writes every attack', () => {
    expect(attacks.map((a) => a.attack)).toEqual(expect.arrayContaining(['empty-dict', 'memoize', 'long4']));
  });

  test.each(attacks.map((a) => [`${a.attack} (${a.format})`, a] as const))('%s', (_, { file, code }) => {
    const report = readInChild('readPth', file, [], HEAP_MIB);
    expect(report.code).toBe(code);
    expect(report.ms).toBeLessThan(TIME_MS);
    expect(report.rssMiB).toBeLessThan(RSS_MIB);
  });
});

describe('real checkpoints stay far inside the limits', () => {
  // MedicalNet's layout: {'state_dict': DataParallel(resnet50).state_dict()} with its _metadata
  // (one dict per module), saved by torch 1.13 in both formats. Tensors are shrunk to one element:
  // the pickle is the real one's but for the size and stride numbers.
  const make = `
import sys, torch
sys.path.insert(0, sys.argv[1])
import medicalnet
from torch import nn
sd = nn.DataParallel(medicalnet.build(50)).state_dict()
for k in list(sd): sd[k] = torch.zeros(1, dtype=sd[k].dtype)
torch.save({'state_dict': sd}, sys.argv[2], _use_new_zipfile_serialization=False)
torch.save({'state_dict': sd}, sys.argv[3])
`;
  const legacy = join(dir, 'resnet50-legacy.pth');
  const zip = join(dir, 'resnet50-zip.pth');
  const scripts = new URL('../../scripts/fixtures/pth/', import.meta.url).pathname;
  // Measured: 4,117 objects and 2,857 memo entries in a 42 KB pickle, integers of at most 10 bytes
  // (the legacy magic number). The defaults allow at least 65,536 and 64 bytes.
  const tight = { maxObjects: 8192, maxMemoEntries: 4096, maxIntegerBytes: 10 };

  test('MedicalNet ResNet50, legacy and zip: loads by default and within an eighth of the floor', async () => {
    execFileSync('/usr/bin/python3', ['-c', make, scripts, legacy, zip], { timeout: 120_000 });
    for (const file of [legacy, zip]) {
      const loaded = await readPth(file);
      expect(loaded.tensors).toHaveLength(318);
      expect(stateDictOf(loaded.tree).size).toBe(318);
      expect((await readPth(file, tight)).tensors).toHaveLength(318);
      await expect(readPth(file, { maxObjects: 2048 })).rejects.toMatchObject({
        code: 'ERR_CHECKPOINT_LIMIT',
        message: expect.stringMatching(/maxObjects = 2048/),
      });
      await expect(readPth(file, { maxMemoEntries: 2048 })).rejects.toMatchObject({
        code: 'ERR_CHECKPOINT_LIMIT',
        message: expect.stringMatching(/maxMemoEntries = 2048/),
      });
    }
    await expect(readPth(legacy, { maxIntegerBytes: 9 })).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT_LIMIT',
      message: expect.stringMatching(/maxIntegerBytes = 9/),
    });
  }, 180_000);

  const fixtures = [
    'dtypes_legacy.pth',
    'dtypes_legacy_bigendian.pth',
    'dtypes_legacy_cuda.pth',
    'dtypes_zip.pth',
    'dtypes_zip_cuda.pth',
    'simple_zip.pth',
    'simple_zip_bigendian.pth',
    'simple_other_name.pth',
  ];
  test.each(fixtures)('fixture %s loads within the tight limits', async (name) => {
    const bytes = readFileSync(new URL(`../fixtures/pth/${name}`, import.meta.url));
    expect((await readPth(bytes, tight)).tensors.length).toBeGreaterThan(0);
  });
});
