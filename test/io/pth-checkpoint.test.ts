import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CHECKPOINT_FORMAT, loadCheckpoint, savePth, saveCheckpoint, type CheckpointContents } from '../../lib/io/index.js';
import type { StateDict } from '../../lib/types.js';

const dir = mkdtempSync(join(tmpdir(), 'spottune-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const model: StateDict = new Map([
  ['conv1.weight', { dtype: 'float32', shape: [2, 1, 1, 1, 2], data: new Float32Array([0.5, -1, 2, 3.25]) }],
  ['bn1.num_batches_tracked', { dtype: 'int64', shape: [], data: new BigInt64Array([90n]) }],
  ['agent.fc.bias', { dtype: 'float32', shape: [2], data: new Float32Array([0.1, 0.2]) }],
]);
const contents: CheckpointContents = {
  model,
  optimizer: new Map<string, unknown>([
    [
      'state',
      new Map([
        [
          0,
          new Map<string, unknown>([
            ['step', 12],
            ['exp_avg', { dtype: 'float32', shape: [2], data: new Float32Array([1e-3, 2e-3]) }],
          ]),
        ],
      ]),
    ],
    [
      'param_groups',
      [
        new Map<string, unknown>([
          ['params', [0]],
          ['lr_e6', 10],
        ]),
      ],
    ],
  ]),
  epoch: 12,
  config: { train: { lr: 1e-5, batchSize: 12 }, seed: 42 },
  metrics: { auc: 0.71, sen: 0.6 },
};

describe('training checkpoints', () => {
  test('saveCheckpoint -> loadCheckpoint returns equal contents', async () => {
    const path = join(dir, 'epoch-12.pth');
    await saveCheckpoint(path, contents);
    const back = await loadCheckpoint(path);
    expect(back.epoch).toBe(12);
    expect(back.config).toEqual(contents.config);
    expect(back.metrics).toEqual(contents.metrics);
    expect([...back.model.keys()]).toEqual([...model.keys()]);
    for (const [k, t] of model)
      expect(Array.from(back.model.get(k)!.data as ArrayLike<unknown>), k).toEqual(Array.from(t.data as ArrayLike<unknown>));
    const step = (back.optimizer as Map<string, Map<number, Map<string, unknown>>>).get('state')!.get(0)!.get('step');
    expect(step).toBe(12);
  });

  test('PyTorch reads it with weights_only=True: a plain state dict under state_dict', async () => {
    const path = join(dir, 'for-torch.pth');
    await saveCheckpoint(path, contents);
    const out = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import sys, json, torch
c = torch.load(sys.argv[1], weights_only=True)
print(json.dumps({'format': c['format'], 'epoch': c['epoch'], 'keys': list(c['state_dict']), 'w': c['state_dict']['conv1.weight'].reshape(-1).tolist(),
  'metrics': json.loads(c['metrics_json']), 'step': c['optimizer']['state'][0]['step']}))
`,
          path,
        ],
        { encoding: 'utf8' },
      ),
    );
    expect(out).toEqual({
      format: CHECKPOINT_FORMAT,
      epoch: 12,
      keys: [...model.keys()],
      w: [0.5, -1, 2, 3.25],
      metrics: contents.metrics,
      step: 12,
    });
  });

  test('BAD CALL and foreign files', async () => {
    await expect(saveCheckpoint(join(dir, 'x.pth'), { ...contents, epoch: -1 })).rejects.toThrow(RangeError);
    await expect(saveCheckpoint(join(dir, 'x.pth'), { ...contents, model: {} as StateDict })).rejects.toThrow(TypeError);
    const other = join(dir, 'other.pth');
    await savePth(other, new Map([['state_dict', model]]));
    await expect(loadCheckpoint(other)).rejects.toMatchObject({
      code: 'ERR_CHECKPOINT_LAYOUT',
      message: expect.stringMatching(/Not a spottune3d training checkpoint/),
    });
  });
});
