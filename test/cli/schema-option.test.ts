// CLI options take their defaults and help texts from the config schemas (lib/cli/schema-option.ts):
// `spottune train --help` states the study's values without restating them by hand.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { DeviceSchema } from '../../lib/config/device.js';
import { NetworkSchema, PAPER_MODEL } from '../../lib/config/model.js';
import { PAPER_TRAIN, TrainSchema } from '../../lib/config/train.js';
import { intFlag, schemaField, schemaOption } from '../../lib/cli/schema-option.js';

const bin = fileURLToPath(new URL('../../bin/spottune.js', import.meta.url));

describe('schemaField', () => {
  test('reads the default and the description through the wrappers, in either order', () => {
    expect(schemaField(TrainSchema.shape.epochs)).toEqual({
      hasDefault: true,
      default: PAPER_TRAIN.epochs,
      description: 'Passes over the training split',
    });
    // NetworkSchema's depth is described before its default is set
    expect(schemaField(NetworkSchema.shape.depth)).toMatchObject({
      hasDefault: true,
      default: PAPER_MODEL.depth,
      description: expect.stringMatching(/^ResNet depth/),
    });
    expect(schemaField(DeviceSchema)).toMatchObject({ default: 'cpu' });
    expect(schemaField(z.string().optional().describe('x'))).toEqual({ hasDefault: false, description: 'x' });
  });
});

describe('schemaOption', () => {
  test('the parsed value, or the schema default when the flag is absent', () => {
    const parse = (...argv: string[]) =>
      new Command()
        .exitOverride()
        .configureOutput({ writeErr: () => {} })
        .addOption(schemaOption('--epochs <n>', TrainSchema.shape.epochs, { parse: intFlag }))
        .addOption(schemaOption('--device <device>', DeviceSchema, { noDefault: true }))
        .parse(argv, { from: 'user' })
        .opts();
    expect(parse()).toEqual({ epochs: 90 });
    expect(parse('--epochs', '3', '--device', 'cuda')).toEqual({ epochs: 3, device: 'cuda' });
    expect(() => parse('--epochs', 'x')).toThrow(/Expected an integer for --epochs but received "x"/);
  });

  test("BAD CALL: a value that breaks the field's rule is a usage error naming the flag, before the command runs", () => {
    const parse = (...argv: string[]) =>
      new Command()
        .exitOverride()
        .configureOutput({ writeErr: () => {} })
        .addOption(schemaOption('--epochs <n>', TrainSchema.shape.epochs, { parse: intFlag }))
        .addOption(schemaOption('--device <device>', DeviceSchema, { noDefault: true }))
        .parse(argv, { from: 'user' })
        .opts();
    expect(() => parse('--epochs', '0')).toThrow(/option '--epochs <n>' argument '0' is invalid\. Too small/);
    expect(() => parse('--device', 'tpu')).toThrow(
      /option '--device <device>' argument 'tpu' is invalid\. expected 'cpu', 'cuda' or 'cuda:N'/,
    );
    expect(parse('--device', 'cuda:1')).toEqual({ epochs: PAPER_TRAIN.epochs, device: 'cuda:1' });
  });

  test('a field without a description is refused', () => {
    expect(() => schemaOption('--x <n>', z.number().default(1))).toThrow(/--x <n> has no \.describe\(\) text/);
  });

  test('spottune train --help shows the schema values', () => {
    const out = spawnSync(process.execPath, [bin, 'train', '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(out.status).toBe(0);
    const help = out.stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`passes over the training split (default: ${PAPER_TRAIN.epochs})`);
    expect(help).toContain(`(default: ${PAPER_TRAIN.batchSize})`);
    expect(help).toContain(`ResNet depth: 10, 18, 34 (BasicBlock), 50, 101, 152, 200 (Bottleneck) (default: ${PAPER_MODEL.depth})`);
    expect(help).toContain('spottune | random | transfer (default: "spottune")');
    expect(help).toContain('(default: "cpu")');
    expect(help).not.toMatch(/paper: \d/);
  });
});
