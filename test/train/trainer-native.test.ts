// The Trainer with a real SpotTune3D network (tiny: ResNet10 trunk and agent, 8^3 volumes): the
// temperature reaches the step, checkpoints hold both optimisers and the scheduler, and an aborted
// run resumes from its checkpoint into a fresh network.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createNetwork, loadCheckpoint, Trainer, type VolumeSample } from '../../lib/index.js';
import { requireNative } from '../helpers/native.js';

requireNative();
const dir = mkdtempSync(join(tmpdir(), 'trainer-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape = [8, 8, 8];
const sample = (id: string, label: 0 | 1, k: number): VolumeSample => ({
  id,
  label,
  load: async () => Float32Array.from({ length: 512 }, (_, i) => ((i * (k + 5)) % 13) / 13 + 0.3 * label),
});
const train = [0, 1, 2, 3].map((k) => sample(`t${k}`, (k % 2) as 0 | 1, k));
const validation = [0, 1].map((k) => sample(`v${k}`, (k % 2) as 0 | 1, k + 9));
const spottune = () => createNetwork({ kind: 'spottune', depth: 10, agentDepth: 10, seed: 3 });

test('a SpotTune run checkpoints both optimisers and the schedule, and resumes into a fresh network', async () => {
  const out = join(dir, 'run');
  const config = {
    epochs: 2,
    batchSize: 2,
    gumbelTau: [
      [0, 100],
      [1, 5],
    ] as [number, number][],
    senThreshold: 0,
    speThreshold: 0,
  };
  const controller = new AbortController();
  const first = await spottune();
  const trainer = new Trainer({ network: first, train, validation, shape, outDir: out, config, signal: controller.signal });
  const taus: number[] = [];
  trainer.on('epochStart', (e) => taus.push(e.tau));
  trainer.on('checkpoint', () => controller.abort());
  await expect(trainer.run()).rejects.toMatchObject({ name: 'AbortError' });
  expect(taus).toEqual([100]);
  first.dispose();

  const ckpt = await loadCheckpoint(join(out, 'checkpoint.pth'));
  expect(ckpt.epoch).toBe(1);
  const keys = [...ckpt.model.keys()];
  expect(keys.some((k) => k.startsWith('agent.'))).toBe(true);
  expect(keys.some((k) => k.startsWith('parallel_blocks.'))).toBe(true);
  const optimizer = [...(ckpt.optimizer as Map<string, unknown>).keys()];
  expect(optimizer.some((k) => k.startsWith('main.exp_avg.'))).toBe(true);
  expect(optimizer.some((k) => k.startsWith('agent.exp_avg.'))).toBe(true);

  const second = await spottune();
  const resumed = new Trainer({ network: second, train, validation, shape, outDir: out, config });
  resumed.on('epochStart', (e) => taus.push(e.tau));
  const result = await resumed.run({ resume: true });
  expect(result.resumedFrom).toBe(1);
  expect(taus).toEqual([100, 5]);
  expect(result.history).toHaveLength(2);
  expect(result.history[1].learningRates).toEqual([1e-5, 1e-4]);
  expect(Number.isFinite(result.history[1].train.loss)).toBe(true);
  second.dispose();
});

// The resumed run must be the uninterrupted run, not merely a run that goes on: same history and
// bit-identical weights, with every source of randomness on (Gumbel noise, dropout, shuffling).
test('an interrupted SpotTune run resumes to the history and weights of an uninterrupted one, Gumbel noise and dropout included', {
  timeout: 600_000,
}, async () => {
  const config = {
    epochs: 3,
    batchSize: 2,
    gumbelTau: [
      [0, 100],
      [1, 5],
    ] as [number, number][],
    senThreshold: 0,
    speThreshold: 0,
  };
  const network = () => createNetwork({ kind: 'spottune', depth: 10, agentDepth: 10, seed: 3, dropout: 0.5 });
  const strip = (h: { seconds?: number }[]) => JSON.parse(JSON.stringify(h.map(({ seconds: _s, ...r }) => r)));
  // bit for bit, without a deep compare of millions of numbers
  const weights = async (net: Awaited<ReturnType<typeof network>>) => {
    const hash = createHash('sha256');
    for (const [k, t] of await net.stateDict()) hash.update(k).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return hash.digest('hex');
  };

  const whole = await network();
  const expected = await new Trainer({ network: whole, train, validation, shape, outDir: join(dir, 'whole'), config }).run();
  const expectedWeights = await weights(whole);
  whole.dispose();

  const out = join(dir, 'interrupted');
  const controller = new AbortController();
  const first = await network();
  const trainer = new Trainer({ network: first, train, validation, shape, outDir: out, config, signal: controller.signal });
  trainer.on('step', (s) => {
    if (s.epoch === 1 && s.batch === 0) controller.abort(); // mid-epoch: the checkpoint holds epoch 0
  });
  await expect(trainer.run()).rejects.toMatchObject({ name: 'AbortError' });
  first.dispose();

  const second = await network(); // a fresh process would build the network again
  const resumed = await new Trainer({ network: second, train, validation, shape, outDir: out, config }).run({ resume: true });
  expect(resumed.resumedFrom).toBe(1);
  expect(strip(resumed.history)).toEqual(strip(expected.history));
  expect(resumed.selectedEpoch).toBe(expected.selectedEpoch);
  expect(await weights(second)).toEqual(expectedWeights);
  second.dispose();
});
