import { describe, expect, test } from 'vitest';
import { averageFolds, ensemble, meanOf, select } from '../../lib/eval/ensemble.js';

describe('averaging', () => {
  test('meanOf averages element-wise and rejects ragged input', () => {
    expect(
      meanOf([
        [0, 1],
        [1, 0],
        [0.5, 0.5],
      ]),
    ).toEqual([0.5, 0.5]);
    expect(() => meanOf([])).toThrow(RangeError);
    expect(() => meanOf([[1, 2], [1]])).toThrow(/\[1\] to have 2 values/);
  });

  test('averageFolds aligns patients listed in different orders', () => {
    const folds = [
      { patients: ['a', 'b', 'c'], probabilities: [0.1, 0.2, 0.3] },
      { patients: ['c', 'a', 'b'], probabilities: [0.5, 0.3, 0.4] },
    ];
    const out = averageFolds(folds);
    expect(out.patients).toEqual(['a', 'b', 'c']);
    expect(out.probabilities.map((p) => +p.toFixed(10))).toEqual([0.2, 0.3, 0.4]);
  });

  test('a missing patient is an error naming it', () => {
    expect(() => select({ patients: ['a'], probabilities: [1] }, ['a', 'z'])).toThrow(/patient z/);
  });

  test('ensembles are the flat mean over derivative models on the given patients', () => {
    const d = new Map([
      ['T1', { patients: ['x', 'y', 'extra'], probabilities: [0.2, 0.4, 0.9] }],
      ['T2', { patients: ['y', 'x'], probabilities: [0.8, 0.6] }],
      ['FLAIR', { patients: ['x', 'y'], probabilities: [1, 0] }],
    ]);
    // x: (0.2 + 0.6 + 1) / 3, y: (0.4 + 0.8 + 0) / 3
    const p = ensemble(d, ['T1', 'T2', 'FLAIR'], ['x', 'y']);
    expect(p[0]).toBeCloseTo(0.6, 12);
    expect(p[1]).toBeCloseTo(0.4, 12);
    expect(() => ensemble(d, ['T1', 'DSC_PH'], ['x'])).toThrow(/DSC_PH/);
  });
});
