// `spottune weights inspect --all` on a checkpoint with very many tensors: the table's column width
// is a loop, not Math.max(...keys), whose spread overflows the call stack past ~100,000 arguments.
import { expect, test } from 'vitest';
import { formatInspection, type WeightsInspection } from '../../lib/cli/commands/weights.js';

test('formats 150,000 tensors without a spread over them', () => {
  const tensors = Array.from({ length: 150_000 }, (_, i) => ({ key: `layer.${i}.weight`, dtype: 'float32', shape: [1] }));
  const report: WeightsInspection = {
    file: 'many.pth',
    format: 'zip',
    byteOrder: 'little',
    topLevelKeys: [],
    tensorCount: tensors.length,
    parameterCount: tensors.length,
    elementCount: tensors.length,
    dtypes: { float32: tensors.length },
    locations: ['cpu'],
    tensors,
  };
  const all = formatInspection(report, true).split('\n');
  expect(all).toContain(`${'layer.149999.weight'}  float32   [1]`);
  expect(all.filter((l) => l.startsWith('layer.'))).toHaveLength(150_000);
  const head = formatInspection(report, false);
  expect(head).toContain('... 149960 more (--all lists every tensor)');
});
