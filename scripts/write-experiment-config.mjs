#!/usr/bin/env node
// Writes configs/experiment.schema.json (the JSON Schema of the experiment configuration, from its
// zod schema) and configs/paper.json (every value of the paper, resolved from the defaults).
// Run after `npm run build:ts`: node scripts/write-experiment-config.mjs
// test/config/experiment.test.ts fails when either file is out of date.
import { experimentJsonSchema, resolveExperimentConfig } from '../dist/lib/config/experiment.js';
import { writeJsonAtomic } from '../dist/lib/util/atomic.js';

const root = new URL('../configs/', import.meta.url);
await writeJsonAtomic(new URL('experiment.schema.json', root).pathname, experimentJsonSchema());
await writeJsonAtomic(new URL('paper.json', root).pathname, { $schema: './experiment.schema.json', ...resolveExperimentConfig({}) });
console.log('wrote configs/experiment.schema.json and configs/paper.json');
