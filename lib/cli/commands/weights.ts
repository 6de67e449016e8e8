import type { Command } from 'commander';

/** Registers the `spottune weights` command(s). */
export function registerWeights(program: Command): void {
  void program;
}
