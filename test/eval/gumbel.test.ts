// Gumbel-averaged prediction and fold averaging (lib/eval/gumbel.ts) on a fake network whose
// output is a known function of the seed and the volume, so every average can be checked exactly.
import { describe, expect, test } from 'vitest';
import { averageFoldPredictions, predictGumbelAveraged, type GumbelPredictor } from '../../lib/eval/gumbel.js';

const SHAPE = [2, 2, 2] as const;
const VOXELS = 8;

/** Probability of a volume under seed s: (first voxel + s) / 1000; the policy routes block j when (s + j) is odd. */
class FakeNetwork implements GumbelPredictor {
  calls: { n: number; options: unknown }[] = [];
  constructor(
    readonly isSpotTune: boolean,
    readonly blocks = 3,
  ) {}
  async predict(input: Float32Array, shape: readonly number[], options: { seed?: number; policy?: 'sample' | 'argmax' } = {}) {
    const n = shape[0];
    this.calls.push({ n, options });
    const s = options.seed ?? 0;
    const probabilities = Float32Array.from({ length: n }, (_, i) => (input[i * VOXELS] + s) / 1000);
    if (!this.isSpotTune) return { probabilities };
    const policy = new Uint8Array(n * this.blocks);
    for (let i = 0; i < n; i++) for (let j = 0; j < this.blocks; j++) policy[i * this.blocks + j] = (s + j) % 2;
    return { probabilities, policy };
  }
}

const volumes = [10, 20, 30].map((v) => new Float32Array(VOXELS).fill(v));

describe('predictGumbelAveraged', () => {
  test('SpotTune: the mean over samples draws seeded seed, seed + 1, ..., batch by batch', async () => {
    const net = new FakeNetwork(true);
    const out = await predictGumbelAveraged(net, volumes, SHAPE, { samples: 4, seed: 42, batchSize: 2 });
    // seeds 42..45 average to 43.5
    expect(out.probabilities.map((p) => +p.toFixed(6))).toEqual([0.0535, 0.0635, 0.0735]);
    expect(net.calls.map((c) => c.n)).toEqual([2, 2, 2, 2, 1, 1, 1, 1]);
    expect(net.calls.slice(0, 4).map((c) => c.options)).toEqual([42, 43, 44, 45].map((seed) => ({ policy: 'sample', seed })));
    // block j is routed in the draws where seed + j is odd: half of the 4 draws, for every block
    expect(out.policy).toEqual([
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
    ]);
  });

  test('an odd number of draws gives uneven routing shares', async () => {
    const out = await predictGumbelAveraged(new FakeNetwork(true, 2), volumes.slice(0, 1), SHAPE, { samples: 3, seed: 0, batchSize: 12 });
    // seeds 0, 1, 2: block 0 routed at seed 1, block 1 at seeds 0 and 2
    expect(out.policy).toEqual([[1 / 3, 2 / 3]]);
  });

  test('the ResNets take one deterministic pass whatever samples says', async () => {
    const net = new FakeNetwork(false);
    const out = await predictGumbelAveraged(net, volumes, SHAPE, { samples: 100, seed: 42, batchSize: 12 });
    expect(net.calls).toEqual([{ n: 3, options: {} }]);
    expect(out.probabilities.map((p) => +p.toFixed(6))).toEqual([0.01, 0.02, 0.03]);
    expect(out).not.toHaveProperty('policy');
  });

  test('BAD INPUT: volumes, shape and options are checked, naming the argument', async () => {
    const net = new FakeNetwork(true);
    await expect(predictGumbelAveraged(net, [new Float32Array(3)], SHAPE, { samples: 1, seed: 0, batchSize: 1 })).rejects.toThrow(
      /volumes\[0\] to be a Float32Array of 2 x 2 x 2 = 8 values/,
    );
    await expect(predictGumbelAveraged(net, volumes, [2, 2], { samples: 1, seed: 0, batchSize: 1 })).rejects.toThrow(RangeError);
    await expect(predictGumbelAveraged(net, volumes, SHAPE, { samples: 0, seed: 0, batchSize: 1 })).rejects.toThrow(/options\.samples/);
    await expect(predictGumbelAveraged(net, volumes, SHAPE, { samples: 1, seed: -1, batchSize: 1 })).rejects.toThrow(/options\.seed/);
    await expect(predictGumbelAveraged(net, volumes, SHAPE, { samples: 1, seed: 0, batchSize: 1.5 })).rejects.toThrow(/options\.batchSize/);
    await expect(predictGumbelAveraged({} as GumbelPredictor, volumes, SHAPE, { samples: 1, seed: 0, batchSize: 1 })).rejects.toThrow(
      TypeError,
    );
  });
});

describe('averageFoldPredictions', () => {
  test('probabilities and routing shares average over the folds, aligned by patient', () => {
    const out = averageFoldPredictions([
      {
        patients: ['a', 'b'],
        probabilities: [0.2, 0.4],
        policy: [
          [1, 0],
          [0, 0],
        ],
      },
      {
        patients: ['b', 'a'],
        probabilities: [0.6, 0.4],
        policy: [
          [1, 1],
          [0, 1],
        ],
      },
    ]);
    expect(out.patients).toEqual(['a', 'b']);
    expect(out.probabilities.map((p) => +p.toFixed(10))).toEqual([0.3, 0.5]);
    expect(out.policyFractions).toEqual([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
  });

  test('without policies there are no routing shares; a partial policy set is an error', () => {
    expect(averageFoldPredictions([{ patients: ['a'], probabilities: [0.2] }])).toEqual({ patients: ['a'], probabilities: [0.2] });
    expect(() =>
      averageFoldPredictions([
        { patients: ['a'], probabilities: [0.2], policy: [[1]] },
        { patients: ['a'], probabilities: [0.2] },
      ]),
    ).toThrow(/1 of 2 do not/);
    expect(() => averageFoldPredictions([])).toThrow(RangeError);
  });
});
