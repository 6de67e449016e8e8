// The CLI's one error path (lib/cli/errors.ts): whatever a command throws becomes a stable code
// and one line naming the option or the file.
import { tmpdir } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { CliError, cliErrorReport } from '../../lib/cli/errors.js';
import { ConfigError } from '../../lib/config/experiment.js';
import { CheckpointError } from '../../lib/native/errors.js';

const flags = new Map([
  ['patients', '--patients'],
  ['batchSize', '--batch-size'],
  ['modalities', '--modalities'],
]);

describe('cliErrorReport', () => {
  test('a schema error names the flag behind its path, in one line, with the count of the rest', () => {
    const schema = z.object({ patients: z.number().int().min(1), batchSize: z.number().int().positive() }).strict();
    const parsed = schema.safeParse({ patients: -5, batchSize: 0 });
    expect(parsed.success).toBe(false);
    const r = cliErrorReport(parsed.error, flags);
    expect(r.code).toBe('ERR_INVALID_OPTION');
    expect(r.message).toMatch(/^--patients: .*>=1 \(and 1 more problem\)$/);
    expect(r.message).not.toContain('\n');
    // without the command's flags the key path is named
    expect(cliErrorReport(parsed.error).message).toMatch(/^patients: /);
  });

  test("Node's fs errors name the file and keep their code", async () => {
    const enoent = await readFile('/nonexistent/x.json').catch((e: unknown) => e);
    expect(cliErrorReport(enoent)).toEqual({ code: 'ENOENT', message: '/nonexistent/x.json: no such file or directory (open)' });
    const eisdir = await writeFile(tmpdir(), 'x').catch((e: unknown) => e);
    expect(cliErrorReport(eisdir)).toEqual({ code: 'EISDIR', message: `${tmpdir()}: is a directory, expected a file (open)` });
  });

  test("the argument parser's errors get codes of the same family, without the 'error:' prefix", () => {
    const e = new CommanderError(1, 'commander.unknownOption', "error: unknown option '--bogus'");
    expect(cliErrorReport(e)).toEqual({ code: 'ERR_UNKNOWN_OPTION', message: "unknown option '--bogus'" });
    expect(
      cliErrorReport(new CommanderError(1, 'commander.missingMandatoryOptionValue', "error: required option '--out <dir>' not specified"))
        .code,
    ).toBe('ERR_MISSING_OPTION');
  });

  test("library errors keep their own code; argument errors naming a flag are the user's option", () => {
    expect(cliErrorReport(new CheckpointError('not a checkpoint', 'ERR_CHECKPOINT_FORMAT'))).toEqual({
      code: 'ERR_CHECKPOINT_FORMAT',
      message: 'not a checkpoint',
    });
    expect(cliErrorReport(new CliError('ERR_QUEUE_UNREACHABLE', '--queue redis://x: refused'))).toEqual({
      code: 'ERR_QUEUE_UNREACHABLE',
      message: '--queue redis://x: refused',
    });
    expect(cliErrorReport(new RangeError('Unknown --modalities entry "XX"'), flags).code).toBe('ERR_INVALID_OPTION');
    expect(cliErrorReport(new RangeError('Expected a positive integer for options.workers'), flags).code).toBe('ERR_INVALID_ARGUMENT');
    expect(cliErrorReport(new Error('something broke\nat line 2')).message).toMatch(
      /^something broke \(1 more line; SPOTTUNE_DEBUG=1 shows them\)$/,
    );
    expect(cliErrorReport('a string')).toEqual({ code: 'ERR_UNKNOWN', message: 'a string' });
  });

  test("a configuration's several problems stay listed under one coded first line", () => {
    const e = new ConfigError('Invalid experiment config x.json:\n  - train.epochs: too small\n  - train.batchSize: too small', [
      { path: 'train.epochs', message: 'too small' },
      { path: 'train.batchSize', message: 'too small' },
    ]);
    expect(cliErrorReport(e)).toEqual({
      code: 'ERR_INVALID_CONFIG',
      message: 'Invalid experiment config x.json',
      issues: [
        { path: 'train.epochs', message: 'too small' },
        { path: 'train.batchSize', message: 'too small' },
      ],
    });
  });
});
