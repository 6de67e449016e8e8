import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CheckpointError } from '../../lib/native/errors.js';
import { readPth, stateDictOf, type PthTensor } from '../../lib/io/index.js';
import {
  assertCleanLoad,
  compareStateDicts,
  detectArchitecture,
  inflateStem,
  loadMedicalNet,
  mapMedicalNet,
  stripModulePrefix,
  type StateDictModule,
} from '../../lib/models/index.js';
import type { HostTensor, StateDict } from '../../lib/types.js';
import { RESNET_LAYOUTS, type ResNetDepth } from '../../lib/config/model.js';
import { inspectWeights } from '../../lib/cli/commands/weights.js';

type KeyList = Array<[string, number[], string]>;
interface KeyFixture {
  block: 'basic' | 'bottleneck';
  layers: number[];
  shortcut: 'A' | 'B';
  keys: KeyList;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/pth/medicalnet-keys.json', import.meta.url), 'utf8')) as Record<
  string,
  KeyFixture
> & {
  conv_seg_keys: KeyList;
};
const dir = mkdtempSync(join(tmpdir(), 'spottune-medicalnet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const placeholder = new Float32Array(1);
/** A state dict with MedicalNet's names and shapes; data are placeholders (mapping never reads them). */
function fromKeys(keys: KeyList): StateDict {
  return new Map(keys.map(([k, shape, dtype]) => [k, { dtype: dtype as HostTensor['dtype'], shape, data: placeholder }]));
}
const DEPTHS = ['resnet10', 'resnet18', 'resnet34', 'resnet50'] as const;

/** The names a SpotTune3d network has: stem, two block copies, fc, agent (a ResNet10 + fc 32). */
function spotTuneNetwork(depth: (typeof DEPTHS)[number]): StateDict {
  const sd = stripModulePrefix(fromKeys(fixture[depth].keys));
  const net: StateDict = new Map();
  for (const [k, v] of sd) {
    if (/^layer\d/.test(k)) {
      net.set(`blocks.${k}`, v);
      net.set(`parallel_blocks.${k}`, v);
    } else net.set(k, v);
  }
  const width = fixture[depth].block === 'bottleneck' ? 2048 : 512;
  net.set('fc.weight', { dtype: 'float32', shape: [1, width], data: placeholder });
  net.set('fc.bias', { dtype: 'float32', shape: [1], data: placeholder });
  for (const [k, v] of stripModulePrefix(fromKeys(fixture.resnet10.keys))) net.set(`agent.${k}`, v);
  net.set('agent.fc.weight', { dtype: 'float32', shape: [32, 512], data: placeholder });
  return net;
}

describe('architecture detection from keys', () => {
  test.each(DEPTHS)('%s', (depth) => {
    const f = fixture[depth];
    const detected = detectArchitecture(fromKeys(f.keys));
    expect(detected).toMatchObject({
      layout: 'medicalnet',
      modulePrefix: true,
      depth: Number(depth.slice(6)),
      block: f.block,
      layers: f.layers,
      shortcut: f.shortcut,
      inputChannels: 1,
      medicalNet: depth,
      hasSegmentationHead: false,
    });
    expect(RESNET_LAYOUTS[Number(depth.slice(6)) as ResNetDepth]).toMatchObject({ block: f.block, layers: f.layers, shortcut: f.shortcut });
    expect(detectArchitecture(spotTuneNetwork(depth))).toMatchObject({ layout: 'spottune3d', layers: f.layers, numClasses: 1 });
  });

  test('a ResNet3d with a head, a segmentation head, and non-ResNets', () => {
    const sd = stripModulePrefix(fromKeys([...fixture.resnet50.keys, ...fixture.conv_seg_keys]));
    expect(detectArchitecture(sd)).toMatchObject({
      layout: 'medicalnet',
      modulePrefix: false,
      hasSegmentationHead: true,
      medicalNet: 'resnet50',
    });
    sd.set('fc.weight', { dtype: 'float32', shape: [3, 2048], data: placeholder });
    expect(detectArchitecture(sd)).toMatchObject({ layout: 'resnet3d', numClasses: 3 });
    expect(detectArchitecture(new Map([['w', { dtype: 'float32', shape: [2], data: placeholder }]])).layout).toBe('unknown');
    // resnet18's layout with type-B shortcuts is a ResNet18, but not the released checkpoint
    const b18 = fromKeys(fixture.resnet18.keys);
    b18.set('module.layer2.0.downsample.0.weight', { dtype: 'float32', shape: [128, 64, 1, 1, 1], data: placeholder });
    expect(detectArchitecture(b18)).toMatchObject({ depth: 18, shortcut: 'B' });
    expect(detectArchitecture(b18).medicalNet).toBeUndefined();
  });
});

describe('mapping MedicalNet names onto the networks', () => {
  test.each(DEPTHS)('%s into SpotTune3d: both copies of every block, agent and fc initialised', (depth) => {
    const checkpoint = fromKeys([...fixture[depth].keys, ...fixture.conv_seg_keys]);
    const mapped = mapMedicalNet(checkpoint, 'spottune3d');
    const stageKeys = fixture[depth].keys.filter(([k]) => /^module\.layer/.test(k)).length;
    expect(mapped.size).toBe(fixture[depth].keys.length + stageKeys);
    expect([...mapped.keys()].some((k) => k.includes('conv_seg') || k.startsWith('module.'))).toBe(false);
    expect(mapped.get('blocks.layer1.0.bn1.num_batches_tracked')?.dtype).toBe('int64');
    if (depth === 'resnet50') {
      // every block of layer3, not only 0-2 as the reference code's key map did
      for (const b of [3, 4, 5]) expect(mapped.has(`parallel_blocks.layer3.${b}.conv2.weight`)).toBe(true);
      expect(mapped.get('blocks.layer1.0.downsample.1.running_var')?.shape).toEqual([256]);
    }
    const report = compareStateDicts(spotTuneNetwork(depth), mapped, ['fc.', 'agent.']);
    expect(report).toMatchObject({ missing: [], unexpected: [], mismatched: [] });
    expect(report.initialised).toEqual(expect.arrayContaining(['fc.weight', 'fc.bias', 'agent.conv1.weight', 'agent.fc.weight']));
    expect(report.initialised.every((k) => k.startsWith('fc.') || k.startsWith('agent.'))).toBe(true);
    expect(() => assertCleanLoad(report)).not.toThrow();
  });

  test('into ResNet3d (and the transferred ResNet50): names unchanged, module. stripped', () => {
    const mapped = mapMedicalNet(fromKeys(fixture.resnet50.keys), 'resnet3d');
    expect([...mapped.keys()]).toEqual(fixture.resnet50.keys.map(([k]) => k.slice('module.'.length)));
  });

  test('strict mode lists missing, unexpected and mismatched keys', () => {
    const network = spotTuneNetwork('resnet10');
    const mapped = mapMedicalNet(fromKeys(fixture.resnet18.keys), 'spottune3d');
    const report = compareStateDicts(network, mapped, ['fc.', 'agent.']);
    expect(report.missing).toContain('blocks.layer2.0.downsample.0.weight');
    expect(report.unexpected).toContain('blocks.layer1.1.conv1.weight');
    const err = (() => {
      try {
        assertCleanLoad(report);
      } catch (e) {
        return e as CheckpointError & { report: unknown };
      }
    })();
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err?.code).toBe('ERR_CHECKPOINT_MISMATCH');
    expect(err?.message).toMatch(/missing \(\d+\): blocks\.layer2\.0\.downsample\.0\.weight/);
    expect(err?.report).toBe(report);
    const wrongStem = mapMedicalNet(fromKeys(fixture.resnet10.keys), 'spottune3d');
    wrongStem.set('conv1.weight', { dtype: 'float32', shape: [64, 2, 7, 7, 7], data: placeholder });
    expect(compareStateDicts(network, wrongStem).mismatched).toEqual([
      { key: 'conv1.weight', expected: [64, 1, 7, 7, 7], actual: [64, 2, 7, 7, 7] },
    ]);
  });

  test('inflateStem equals torch: weight.repeat(1, C, 1, 1, 1) / C', () => {
    const data = Float32Array.from({ length: 4 * 27 }, (_, i) => Math.sin(i) * 3);
    const weight: HostTensor = { dtype: 'float32', shape: [4, 1, 3, 3, 3], data };
    const inflated = inflateStem(weight, 3);
    expect(inflated.shape).toEqual([4, 3, 3, 3, 3]);
    const expected = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import sys, json, math, torch
w = torch.tensor([math.sin(i) * 3 for i in range(4 * 27)], dtype=torch.float32).reshape(4, 1, 3, 3, 3)
print(json.dumps((w.repeat(1, 3, 1, 1, 1) / 3).reshape(-1).tolist()))
`,
        ],
        { encoding: 'utf8' },
      ),
    ) as number[];
    expect(Array.from(inflated.data as Float32Array)).toEqual(expected);
    expect(mapMedicalNet(new Map([['module.conv1.weight', weight]]), 'resnet3d', { inputChannels: 3 }).get('conv1.weight')!.shape).toEqual([
      4, 3, 3, 3, 3,
    ]);
    expect(() => inflateStem(inflated, 2)).toThrow(RangeError);
  });
});

describe('a real MedicalNet-layout ResNet10 checkpoint (legacy format, CUDA-tagged, module. keys)', () => {
  const path = join(dir, 'resnet_10.pth');
  const script = new URL('../../scripts/fixtures/pth/medicalnet.py', import.meta.url).pathname;

  test('loads with every key, shape and value torch sees', async () => {
    execFileSync('/usr/bin/python3', [script, '10', path], { stdio: 'inherit' });
    const sums = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import sys, json, torch
sd = torch.load(sys.argv[1], map_location='cpu')['state_dict']
print(json.dumps({k: [list(v.shape), float(v.double().sum()), float(v.double().abs().max())] for k, v in sd.items()}))
`,
          path,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      ),
    ) as Record<string, [number[], number, number]>;
    const file = await readPth(path);
    expect(file.format).toBe('legacy');
    const sd = stateDictOf(file.tree);
    expect([...sd.keys()]).toEqual(fixture.resnet10.keys.map(([k]) => k));
    for (const [k, [shape, sum, max]] of Object.entries(sums)) {
      const t = sd.get(k) as PthTensor;
      expect(t.shape, k).toEqual(shape);
      expect(t.storage.location).toBe('cuda:0');
      let s = 0;
      let m = 0;
      const data = t.data as ArrayLike<number | bigint>;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        s += Number(v);
        m = Math.max(m, Math.abs(Number(v)));
      }
      expect(s, k).toBeCloseTo(sum, 2);
      expect(m, k).toBe(max);
    }
    expect(detectArchitecture(sd).summary).toBe("MedicalNet resnet10 (basic [1, 1, 1, 1], shortcut B), 1 input channel, 'module.' prefix");
    const inspection = await inspectWeights(path);
    const parameters = fixture.resnet10.keys
      .filter(([k]) => !/running_(mean|var)|num_batches_tracked/.test(k))
      .reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
    expect(inspection).toMatchObject({
      format: 'legacy',
      parameterCount: parameters,
      architecture: { medicalNet: 'resnet10', layout: 'medicalnet' },
    });
    expect(parameters).toBe(14_355_520); // the agent trunk's size in the reference study, section 6
  });

  test('loadMedicalNet maps it into a network and reports what it loaded', async () => {
    const network = spotTuneNetwork('resnet10');
    let received: StateDict | undefined;
    const fake: StateDictModule = {
      stateDict: () => network,
      loadStateDict: (sd) => {
        received = sd;
      },
    };
    const report = await loadMedicalNet(fake, path);
    expect(report.loaded.length).toBe(received!.size);
    expect(received!.get('parallel_blocks.layer4.0.conv2.weight')).toBe(received!.get('blocks.layer4.0.conv2.weight'));
    expect((received!.get('bn1.running_var')!.data as Float32Array).length).toBe(64);
    const resnet18: StateDictModule = { stateDict: () => spotTuneNetwork('resnet18'), loadStateDict: () => {} };
    await expect(loadMedicalNet(resnet18, path)).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_MISMATCH' });
    expect((await loadMedicalNet(resnet18, path, { strict: false })).missing.length).toBeGreaterThan(0);
  });
});
