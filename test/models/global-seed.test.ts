// manualSeed seeds LibTorch's process-wide generators, like torch.manual_seed; the library itself
// never draws from them: every dropout mask, Gumbel sample and initialisation comes from a
// generator made from the call's own seed (docs/study.md section 5, seeds). So the global seed
// must have no effect on a network's results, while the call's seed must. A draw that slipped onto
// the global generator would make the two runs below differ.
import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { createNetwork, manualSeed, type Network } from '../../lib/index.js';
import { requireNative } from '../helpers/native.js';

requireNative();

const shape = [2, 1, 8, 8, 8];
const input = Float32Array.from({ length: 2 * 512 }, (_, i) => ((i * 7) % 13) / 13);
const labels = new Float32Array([1, 0]);

/** Two training steps and a sampled prediction after `manualSeed(globalSeed)`, with the calls' own seeds. */
async function run(globalSeed: number, stepSeed: number) {
  manualSeed(globalSeed);
  const net: Network = await createNetwork({ kind: 'spottune', depth: 10, agentDepth: 10, seed: 3, dropout: 0.5 });
  try {
    const losses = [];
    for (let k = 0; k < 2; k++) losses.push((await net.trainStep(input, shape, labels, { seed: stepSeed + k, tau: 5 })).loss);
    const predicted = await net.predict(input, shape, { seed: stepSeed, policy: 'sample' });
    const hash = createHash('sha256'); // bit for bit, without a deep compare of millions of numbers
    for (const [k, t] of await net.stateDict()) hash.update(k).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    const weights = hash.digest('hex');
    return { losses, probabilities: Array.from(predicted.probabilities), weights };
  } finally {
    net.dispose();
  }
}

test('the global seed changes nothing; the call seed changes the steps (dropout and Gumbel noise on)', { timeout: 300_000 }, async () => {
  const a = await run(1, 10);
  const b = await run(987_654, 10);
  expect(b).toEqual(a);
  const c = await run(1, 20);
  expect(c.losses).not.toEqual(a.losses);
});
