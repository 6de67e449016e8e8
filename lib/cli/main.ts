/**
 * The `spottune` CLI: thin commands over the public API. Commands load the addon only when they
 * need it, so `spottune --help` and the pure-TS commands work without a build.
 *
 * Conventions a script can rely on: with `--json`, the result is one JSON document on stdout and
 * progress and logs go to stderr; every error is one line on stderr, `spottune: <message> (<code>)`,
 * with a non-zero exit, and with `--json` also `{"error": {"code", "message"}}` on stdout.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../util/package-root.js';
import { COMMANDS } from './commands/index.js';
import { cliErrorReport, type CliErrorReport, type FlagNames } from './errors.js';

/** Builds the program with every command registered (exported for tests and --help docs). */
export function buildProgram(): Command {
  const program = new Command('spottune')
    .description('3D SpotTune and MedicalNet ResNets on LibTorch, from TypeScript')
    .version(packageVersion())
    // main() prints the parser's errors as one coded line; commander's own print (and the help
    // it appends) would make a script's stderr many lines long
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** True when `--json` comes before any `--` (the result and the errors are then JSON on stdout). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The running command's flags by attribute name, for naming the flag behind a schema issue. */
function flagNames(command: Command | undefined): FlagNames | undefined {
  if (!command) return undefined;
  const names = new Map<string, string>();
  for (const option of command.options) if (option.long) names.set(option.attributeName(), option.long);
  return names;
}

/** Writes an error the CLI way: one coded line on stderr, and a JSON object on stdout with --json. */
export function printError(report: CliErrorReport, json: boolean): void {
  const lines = [`spottune: ${report.message} (${report.code})`, ...(report.issues ?? []).map((i) => `  - ${i.path}: ${i.message}`)];
  process.stderr.write(`${lines.join('\n')}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: report })}\n`);
}

/** Runs the CLI on `argv` (process.argv form) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let running: Command | undefined;
  program.hook('preAction', (_program, action) => {
    running = action;
  });
  try {
    await program.parseAsync(argv);
    // a command may end with a status of its own (an interrupted prepare: 130)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // help and version end through here too: they print themselves
    if (err instanceof CommanderError && /^commander\.(help|helpDisplayed|version)$/.test(err.code)) return err.exitCode;
    printError(cliErrorReport(err, flagNames(running)), wantsJson(argv));
    if (process.env.SPOTTUNE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
