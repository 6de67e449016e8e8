// MedicalNet weights into the library's networks (needs the addon): loading, equality with
// MedicalNet's own PyTorch forward, and training checkpoints that reload to identical predictions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCheckpoint, loadPth, saveCheckpoint, stateDictOf } from '../../lib/io/index.js';
import { createResNet3d, createSpotTune3d, loadMedicalNet } from '../../lib/models/index.js';
import type { StateDict } from '../../lib/types.js';
import { main } from '../../lib/cli/main.js';
import { embedVolume, type EmbedResult } from '../../lib/cli/commands/weights.js';

const script = new URL('../../scripts/fixtures/pth/medicalnet.py', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'spottune-medicalnet-net-'));
const weights = join(dir, 'resnet_10.pth');
let checkpoint: StateDict;

beforeAll(async () => {
  execFileSync('/usr/bin/python3', [script, '10', weights, '--seed', '3']);
  checkpoint = stateDictOf(await loadPth(weights));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape: readonly number[] = [2, 1, 20, 24, 24];
const input = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 0.011));
/** Byte-for-byte equality of two typed arrays (fast on millions of elements). */
function same(a: ArrayBufferView, b: ArrayBufferView, what = ''): void {
  expect(a.constructor, what).toBe(b.constructor);
  expect(
    Buffer.from(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength),
    ),
    what,
  ).toBe(true);
}

describe('loadMedicalNet into the networks', () => {
  test('SpotTune3d: stem, both copies of every block; fc and agent keep their initialisation', async () => {
    await using net = await createSpotTune3d({ depth: 10, seed: 1 });
    const before = await net.stateDict();
    const report = await loadMedicalNet(net, weights);
    expect(report).toMatchObject({ missing: [], unexpected: [], mismatched: [] });
    const after = await net.stateDict();
    for (const [key, t] of checkpoint) {
      const name = key.slice('module.'.length);
      if (/^layer/.test(name)) {
        same(after.get(`blocks.${name}`)!.data, t.data, name);
        same(after.get(`parallel_blocks.${name}`)!.data, t.data, name);
      } else {
        same(after.get(name)!.data, t.data, name);
      }
    }
    expect(report.initialised).toContain('agent.conv1.weight');
    for (const key of report.initialised) same(after.get(key)!.data, before.get(key)!.data, key);
  });

  test("ResNet3d's logits equal MedicalNet's PyTorch forward + the same fc", async () => {
    await using net = await createResNet3d({ depth: 10, seed: 1 });
    await loadMedicalNet(net, weights);
    const fc = await net.stateDict();
    const { logits } = await net.predict(input, shape);
    const inputPath = join(dir, 'input.f32');
    const fcPath = join(dir, 'fc.f32');
    writeFileSync(inputPath, input);
    writeFileSync(
      fcPath,
      Buffer.concat([
        Buffer.from((fc.get('fc.weight')!.data as Float32Array).buffer),
        Buffer.from((fc.get('fc.bias')!.data as Float32Array).buffer),
      ]),
    );
    const reference = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import medicalnet
model = medicalnet.build(10)
sd = torch.load(sys.argv[2], map_location='cpu')['state_dict']
model.load_state_dict({k[len('module.'):]: v for k, v in sd.items()})
model.eval()
x = torch.from_numpy(np.fromfile(sys.argv[3], dtype=np.float32).reshape(${shape.join(', ')}))
fc = torch.from_numpy(np.fromfile(sys.argv[4], dtype=np.float32))
with torch.no_grad():
    pooled = model.features(x).mean(dim=(2, 3, 4))
    logits = pooled @ fc[:512].reshape(1, 512).T + fc[512:]
print(json.dumps(logits.reshape(-1).tolist()))
`,
          join(script, '..'),
          weights,
          inputPath,
          fcPath,
        ],
        { encoding: 'utf8' },
      ),
    ) as number[];
    expect(logits.length).toBe(2);
    for (let i = 0; i < 2; i++) expect(logits[i]).toBeCloseTo(reference[i], 4);
  });
});

describe('spottune embed: MedicalNet features of a NIfTI volume', () => {
  test('equal the reference trunk, global-average-pooled (CLI, --json)', async () => {
    const nifti = join(dir, 'volume.nii.gz');
    // [nx, ny, nz] = [22, 18, 14] as nibabel sees it; stored k-major, so 'kji' feeds [14, 18, 22]
    execFileSync('/usr/bin/python3', [
      '-c',
      `
import sys, numpy as np, nibabel as nib
i, j, k = np.meshgrid(np.arange(22), np.arange(18), np.arange(14), indexing='ij')
data = (np.sin(i * 0.5) + np.cos(j * 0.3) * k / 14).astype(np.float32)
nib.save(nib.Nifti1Image(data, np.diag([1.5, 1.5, 2.0, 1.0])), sys.argv[1])
`,
      nifti,
    ]);
    let stdout = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['node', 'spottune', 'embed', '--weights', weights, '--arch', 'resnet10', '--input', nifti, '--json']);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as EmbedResult;
    expect(result.shape).toEqual([14, 18, 22]);
    expect(result.features.length).toBe(512);
    const reference = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import sys, json, numpy as np, nibabel as nib, torch
sys.path.insert(0, sys.argv[1])
import medicalnet
model = medicalnet.build(10)
sd = torch.load(sys.argv[2], map_location='cpu')['state_dict']
model.load_state_dict({k[len('module.'):]: v for k, v in sd.items()})
model.eval()
x = np.asarray(nib.load(sys.argv[3]).dataobj, dtype=np.float32).transpose(2, 1, 0).copy()
with torch.no_grad():
    f = model.features(torch.from_numpy(x)[None, None]).mean(dim=(2, 3, 4))
print(json.dumps(f.reshape(-1).tolist()))
`,
          join(script, '..'),
          weights,
          nifti,
        ],
        { encoding: 'utf8' },
      ),
    ) as number[];
    const scale = Math.max(...reference.map(Math.abs));
    for (let i = 0; i < 512; i++) expect(Math.abs(result.features[i] - reference[i]), `feature ${i}`).toBeLessThan(1e-5 * scale + 1e-6);
    await expect(embedVolume({ weights, arch: 'resnet50', input: nifti })).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_MISMATCH' });
    await expect(embedVolume({ weights, arch: 'resnet5', input: nifti })).rejects.toThrow(/did you mean "resnet50"/);
  });
});

describe('training checkpoints reload to identical predictions', () => {
  test('SpotTune3d after a training step: model, agent and optimizer state', async () => {
    await using a = await createSpotTune3d({ depth: 10, seed: 1 });
    await loadMedicalNet(a, weights);
    await a.trainStep(input, shape, new Float32Array([1, 0]), { seed: 5, tau: 100 });
    const path = join(dir, 'checkpoint.pth');
    await saveCheckpoint(path, {
      model: await a.stateDict(),
      optimizer: await a.optimizerState(),
      epoch: 1,
      config: { depth: 10 },
      metrics: { loss: 0.5 },
    });

    await using b = await createSpotTune3d({ depth: 10, seed: 2 });
    const saved = await loadCheckpoint(path);
    await b.loadStateDict(saved.model);
    await b.loadOptimizerState(saved.optimizer as StateDict);
    expect(saved).toMatchObject({ epoch: 1, config: { depth: 10 }, metrics: { loss: 0.5 } });

    const pa = await a.predict(input, shape, { policy: 'sample', seed: 42 });
    const pb = await b.predict(input, shape, { policy: 'sample', seed: 42 });
    same(pb.logits, pa.logits);
    same(pb.policy!, pa.policy!);
    // and they keep training identically: the optimizer state came along
    const sa = await a.trainStep(input, shape, new Float32Array([0, 1]), { seed: 6, tau: 100 });
    const sb = await b.trainStep(input, shape, new Float32Array([0, 1]), { seed: 6, tau: 100 });
    expect(sb.loss).toBe(sa.loss);
    same((await b.predict(input, shape, { seed: 42 })).logits, (await a.predict(input, shape, { seed: 42 })).logits);
  });
});
