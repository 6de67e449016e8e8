import type { Command } from 'commander';
import { registerInfo } from './info.js';

/** Every CLI command, in --help order. Each module adds one command (with subcommands) to the program. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [registerInfo];
