// The trainer's logic against a deterministic stand-in network (no LibTorch): selection, logs,
// checkpoints, resume, abort, errors, events and prefetching.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Trainer, TorchError, tauAt, type EpochRecord, type VolumeSample } from '../../lib/index.js';
import { FakeNetwork } from './fake-network.js';

const shape = [2, 3, 4];
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'trainer-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function samples(n: number, prefix: string, separation = 0.2, offset = 0): VolumeSample[] {
  return Array.from({ length: n }, (_, i) => {
    const label = ((i + offset) % 3 === 0 ? 1 : 0) as 0 | 1;
    const level = 0.5 + (label ? separation : -separation) + (((i * 37) % 11) / 11 - 0.5) * 0.3;
    return { id: `${prefix}${i}`, label, load: async () => new Float32Array(24).fill(level) };
  });
}

const strip = (h: EpochRecord[]) => JSON.parse(JSON.stringify(h.map(({ seconds: _s, ...r }) => r)));

describe('Trainer (stand-in network)', () => {
  test('trains, validates, selects by M on validation with the gates, and writes logs, checkpoint and the selected model', async () => {
    const out = tmp();
    const net = new FakeNetwork();
    const events: string[] = [];
    const trainer = new Trainer({
      network: net,
      train: samples(14, 't'),
      validation: samples(9, 'v', 0.2, 1),
      shape,
      outDir: out,
      config: { epochs: 5, batchSize: 4 },
    });
    for (const e of ['epochStart', 'step', 'validation', 'epochEnd', 'checkpoint'] as const) trainer.on(e, () => events.push(e));
    const result = await trainer.run();
    expect(result.history).toHaveLength(5);
    expect(trainer.batchesPerEpoch).toBe(4);
    expect(events.slice(0, 8)).toEqual(['epochStart', 'step', 'step', 'step', 'step', 'validation', 'checkpoint', 'epochEnd']);
    const qualified = result.history.filter((r) => r.qualified);
    expect(qualified.length).toBeGreaterThan(0);
    const bestM = Math.max(...qualified.map((r) => r.validation.m));
    expect(result.selection).toBe('best');
    expect(result.selected.validation.m).toBe(bestM);
    expect(result.selected.validation.sen).toBeGreaterThan(0.5);
    // the first epoch reaching the best M wins ties (strict >)
    expect(result.selectedEpoch).toBe(qualified.find((r) => r.validation.m === bestM)!.epoch);
    for (const r of result.history) expect(r.validation.m).toBeCloseTo(0.6 * r.validation.sen + 0.4 * r.validation.spe, 12);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5);
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'epoch,lr,agent_lr,tau,train_loss,train_acc,train_auc,train_sen,train_spe,train_m,val_loss,val_acc,val_auc,val_sen,val_spe,val_m,qualified,best,lr_reduced,seconds',
    );
    expect(csv).toHaveLength(6);
    for (const f of ['checkpoint.pth', 'best.pth', 'model.pth', 'config.resolved.json']) expect(existsSync(join(out, f))).toBe(true);
    const selection = JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8'));
    expect(selection).toMatchObject({ selectedEpoch: result.selectedEpoch, selection: 'best' });
    // the network ends holding the selected epoch's weights
    const again = new FakeNetwork();
    await new Trainer({
      network: again,
      train: samples(14, 't'),
      validation: samples(9, 'v', 0.2, 1),
      shape,
      config: { epochs: result.selectedEpoch + 1, batchSize: 4 },
    }).run();
    expect(net.w).toBe(again.w);
  });

  test('when no epoch passes the SEN/SPE gates the last epoch is kept, and that is recorded', async () => {
    const out = tmp();
    const result = await new Trainer({
      network: new FakeNetwork(),
      train: samples(6, 't'),
      validation: samples(6, 'v'),
      shape,
      outDir: out,
      config: { epochs: 3, batchSize: 3, senThreshold: 1, speThreshold: 1 },
    }).run();
    expect(result.selection).toBe('last');
    expect(result.selectedEpoch).toBe(2);
    expect(result.history.every((r) => !r.qualified && !r.best)).toBe(true);
    expect(existsSync(join(out, 'best.pth'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'selection.json'), 'utf8')).reason).toMatch(
      /no epoch had validation SEN > 1 and SPE > 1; the last epoch's model is kept/,
    );
  });

  test('an aborted run resumes from its last checkpoint to the same history and model as an uninterrupted run', async () => {
    const config = { epochs: 5, batchSize: 4 };
    const data = () => ({ train: samples(13, 't'), validation: samples(9, 'v', 0.15, 1), shape });
    const whole = new FakeNetwork();
    const uninterrupted = await new Trainer({ network: whole, ...data(), outDir: tmp(), config }).run();

    const out = tmp();
    const controller = new AbortController();
    const first = new FakeNetwork();
    const trainer = new Trainer({ network: first, ...data(), outDir: out, config, signal: controller.signal });
    trainer.on('step', (s) => {
      if (s.epoch === 2 && s.batch === 1) controller.abort();
    });
    const err = await trainer.run().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);

    const second = new FakeNetwork(); // a new process would start from fresh weights
    const resumed = await new Trainer({ network: second, ...data(), outDir: out, config }).run({ resume: true });
    expect(resumed.resumedFrom).toBe(2);
    expect(strip(resumed.history)).toEqual(strip(uninterrupted.history));
    expect(resumed.selectedEpoch).toBe(uninterrupted.selectedEpoch);
    expect(second.w).toBe(whole.w);
    expect(second.b).toBe(whole.b);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(5);
  });

  // Each key docs/training.md lists (epochs, batch size, shape, sample counts), changed alone; the
  // unchanged configuration resumes, so a refusal is the key's doing.
  const base = { train: 6, validation: 6, shape, config: { epochs: 1, batchSize: 3 } };
  test.each([
    ['batchSize', { config: { epochs: 1, batchSize: 2 } }, /batchSize/],
    ['epochs', { config: { epochs: 2, batchSize: 3 } }, /its train is .*"epochs":1/],
    ['shape', { shape: [4, 3, 2] }, /its shape is \[2,3,4\], this run's is \[4,3,2\]/],
    ['trainSamples', { train: 7 }, /its trainSamples is 6, this run's is 7/],
    ['validationSamples', { validation: 5 }, /its validationSamples is 6, this run's is 5/],
  ] as const)('resume refuses a checkpoint of another configuration: %s', async (_, change, message) => {
    const out = tmp();
    const trainer = (o: { train: number; validation: number; shape: readonly number[]; config: { epochs: number; batchSize: number } }) =>
      new Trainer({
        network: new FakeNetwork(),
        train: samples(o.train, 't'),
        validation: samples(o.validation, 'v'),
        shape: [...o.shape],
        outDir: out,
        config: o.config,
      });
    await trainer(base).run();
    const err = await trainer({ ...base, ...change })
      .run({ resume: true })
      .catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ERR_CHECKPOINT_MISMATCH');
    expect((err as Error).message).toMatch(message);
    expect((await trainer(base).run({ resume: true })).resumedFrom).toBe(1);
  });

  test('a non-finite loss stops the run with ERR_NONFINITE_LOSS naming the epoch, the batch and its samples', async () => {
    const train = samples(8, 't');
    train[5] = { ...train[5], load: async () => new Float32Array(24).fill(NaN) };
    const err = await new Trainer({
      network: new FakeNetwork(),
      train,
      validation: samples(6, 'v'),
      shape,
      config: { epochs: 2, batchSize: 4, shuffle: false },
    })
      .run()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorchError);
    expect((err as TorchError).code).toBe('ERR_NONFINITE_LOSS');
    expect((err as Error).message).toMatch(/epoch 0, batch 1 \(samples t4, t5, t6, t7\)/);
  });

  test('out of memory becomes an Error that says what to reduce', async () => {
    const net = new FakeNetwork();
    net.failWith = Object.assign(new Error('CUDA out of memory. Tried to allocate 2.00 GiB'), { code: 'ERR_OUT_OF_MEMORY' });
    const err = await new Trainer({
      network: net,
      train: samples(4, 't'),
      validation: samples(3, 'v'),
      shape,
      config: { epochs: 1, batchSize: 4 },
    })
      .run()
      .catch((e: unknown) => e);
    expect((err as TorchError).code).toBe('ERR_OUT_OF_MEMORY');
    expect((err as Error).message).toMatch(/epoch 0, batch 0.*Reduce batchSize/);
  });

  test('the next batch loads while the current step runs', async () => {
    const log: string[] = [];
    const train = samples(8, 't').map((s) => ({ ...s, load: async () => (log.push(`load ${s.id}`), s.load()) }));
    const net = new FakeNetwork();
    net.stepDelayMs = 20;
    const trainer = new Trainer({
      network: net,
      train,
      validation: samples(3, 'v'),
      shape,
      config: { epochs: 1, batchSize: 4, shuffle: false },
    });
    trainer.on('step', (s) => log.push(`step ${s.batch} done`));
    await trainer.run();
    expect(log.indexOf('load t4')).toBeLessThan(log.indexOf('step 0 done'));
  });

  test('shuffling is seeded per epoch; step and validation seeds differ per batch; tau follows the schedule', async () => {
    const run = async (seed: number) => {
      const net = new FakeNetwork();
      const order: string[] = [];
      const train = samples(8, 't').map((s) => ({ ...s, load: async () => (order.push(s.id), s.load()) }));
      await new Trainer({
        network: net,
        train,
        validation: samples(3, 'v'),
        shape,
        config: {
          epochs: 3,
          batchSize: 4,
          seed,
          gumbelTau: [
            [0, 100],
            [2, 5],
          ],
        },
      }).run();
      return { order, calls: net.calls };
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a.order).toEqual(b.order);
    expect(a.order).not.toEqual(c.order);
    expect(a.order.slice(0, 8)).not.toEqual(a.order.slice(8, 16)); // reshuffled each epoch
    const steps = a.calls.filter((x) => x.kind === 'trainStep');
    expect(new Set(steps.map((x) => x.seed)).size).toBe(steps.length);
    expect(steps.map((x) => x.tau)).toEqual([100, 100, 100, 100, 5, 5]);
    expect(tauAt(100, 7)).toBe(100);
    expect(
      tauAt(
        [
          [0, 1e4],
          [3, 100],
        ],
        2,
      ),
    ).toBe(1e4);
  });

  test('BAD CALL: inputs, scheduler direction and resume without a folder', async () => {
    const base = { network: new FakeNetwork(), train: samples(4, 't'), validation: samples(3, 'v'), shape };
    expect(() => new Trainer({ ...base, network: {} as FakeNetwork })).toThrow(/options\.network/);
    expect(() => new Trainer({ ...base, shape: [2, 3] })).toThrow(/options\.shape/);
    expect(() => new Trainer({ ...base, validation: [] })).toThrow(/validation/);
    expect(() => new Trainer({ ...base, train: [{ id: 'x', label: 3 as 1, load: async () => new Float32Array() }] })).toThrow(
      /options\.train\[0\]\.label/,
    );
    expect(() => new Trainer({ ...base, config: { plateauMetric: 'loss' } })).toThrow(/scheduler: \{ mode: "min" \}/);
    expect(() => new Trainer({ ...base, config: { batchSize: 0 } as object })).toThrow();
    await expect(new Trainer(base).run({ resume: true })).rejects.toThrow(/outDir/);
    const wrong = samples(2, 'w').map((s) => ({ ...s, load: async () => new Float32Array(5) }));
    await expect(new Trainer({ ...base, train: wrong, config: { epochs: 1 } }).run()).rejects.toThrow(
      /expected a Float32Array of 2 x 3 x 4 = 24 values/,
    );
  });
});
