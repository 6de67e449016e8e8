import type { Command } from 'commander';

/** Registers the `spottune data` command(s). */
export function registerData(program: Command): void {
  void program;
}
