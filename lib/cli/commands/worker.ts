import type { Command } from 'commander';

/** Registers the `spottune worker` command(s). */
export function registerWorker(program: Command): void {
  void program;
}
