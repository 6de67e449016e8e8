/**
 * The `spottune` CLI: thin commands over the public API. Commands load the addon only when they
 * need it, so `spottune --help` and the pure-TS commands work without a build.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../util/package-root.js';
import { COMMANDS } from './commands/index.js';

/** Builds the program with every command registered (exported for tests and --help docs). */
export function buildProgram(): Command {
  const program = new Command('spottune')
    .description('3D SpotTune and MedicalNet ResNets on LibTorch, from TypeScript')
    .version(packageVersion())
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI on `argv` (process.argv form) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const e = err as Error & { code?: string };
    process.stderr.write(`spottune: ${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}\n`);
    if (process.env.SPOTTUNE_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
