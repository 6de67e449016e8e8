import type { Command } from 'commander';

/** Registers the `spottune demo` command(s). */
export function registerDemo(program: Command): void {
  void program;
}
