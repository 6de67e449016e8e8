import type { Command } from 'commander';

/** Registers the `spottune experiment` command(s). */
export function registerExperiment(program: Command): void {
  void program;
}
