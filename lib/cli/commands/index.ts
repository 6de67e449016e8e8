import type { Command } from 'commander';
import { registerData } from './data.js';
import { registerDemo } from './demo.js';
import { registerExperiment } from './experiment.js';
import { registerInfo } from './info.js';
import { registerRadiomics } from './radiomics.js';
import { registerTrain } from './train.js';
import { registerWeights } from './weights.js';
import { registerWorker } from './worker.js';

/** Every CLI command, in --help order. Each module adds its command(s) to the program. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerInfo,
  registerData,
  registerWeights,
  registerTrain,
  registerExperiment,
  registerRadiomics,
  registerWorker,
  registerDemo,
];
