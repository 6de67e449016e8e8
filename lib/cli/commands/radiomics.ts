import type { Command } from 'commander';

/** Registers the `spottune radiomics` command(s). */
export function registerRadiomics(program: Command): void {
  void program;
}
