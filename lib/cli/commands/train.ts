import type { Command } from 'commander';

/** Registers the `spottune train` command(s). */
export function registerTrain(program: Command): void {
  void program;
}
