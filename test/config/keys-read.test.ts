// Every configuration key does something: each leaf key of the configuration schemas must be read
// by the code that consumes its section, or the test fails naming the key.
//
// How: a static scan. Each section of a schema names its consumers (the modules the resolved
// section is handed to); a leaf `k` counts as read when a consumer accesses it, `x.k` or a
// destructured `{ k }` in TypeScript (comments stripped), or `"k"` in C++ (native code reads the
// resolved config by name: req_number(obj, "k")). Scanning per section rather than the whole of
// lib/ is what makes the check bite: `gumbelTau` is read by the Trainer, which is why
// network.gumbelTau looked alive while no network code read it.
//
// Why not a read-tracking Proxy around a resolved config while an experiment runs: every consumer
// re-parses its section with zod (createNetwork, new Trainer, expandTrainingSet), and parsing reads
// every key, so a Proxy would count dead keys as read. The scan is a heuristic (a key could be
// read through an unusual spelling); the self-test below shows that it catches an unread key.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { SynthSchema } from '../../lib/config/data.js';
import { EvaluationSchema, ExperimentSchema } from '../../lib/config/experiment.js';
import { QueueSchema, WorkerSchema } from '../../lib/config/queue.js';
import { RadiomicsSchema, RandomForestSchema } from '../../lib/config/radiomics.js';
import { unwrapSchema } from '../../lib/config/schema-walk.js';
import { TrainSchema } from '../../lib/config/train.js';

const root = new URL('../../', import.meta.url).pathname;

/** Keys that are configuration but not read by the library, and why. */
const NOT_READ_BY_THE_LIBRARY: Record<string, string> = {
  $schema: 'names the JSON Schema for editors (configs/experiment.schema.json); the library ignores it',
};

/**
 * Section (dotted path of an object inside the schema; '' = the root) -> the files or folders that
 * consume it. A nested object not listed inherits its parent's consumers.
 */
type Consumers = Record<string, readonly string[]>;

const EXPERIMENT_CONSUMERS: Consumers = {
  '': ['lib/experiment', 'lib/eval'],
  splits: ['lib/data/splits.ts'],
  network: ['lib/models'],
  // the scheduler settings travel to C++ whole; the Trainer checks `mode` against plateauMetric
  'network.scheduler': ['native/models/network_config.cc', 'lib/train/trainer.ts'],
  train: ['lib/train'],
  augment: ['lib/data/augment.ts', 'lib/data/transforms'],
  preprocess: ['lib/data/preprocess', 'lib/data/cache.ts', 'lib/experiment'],
  evaluation: ['lib/experiment', 'lib/eval'],
  stats: ['lib/experiment', 'lib/report'],
  report: ['lib/experiment', 'lib/report'],
  // where the cohort comes from (setup opens it; the radiomics job re-opens it) and the study's radiomics roles
  cohort: ['lib/experiment/setup.ts', 'lib/experiment/jobs.ts'],
  radiomicsModalities: ['lib/experiment/jobs.ts'],
};

/** Every leaf key path of an object schema (objects are descended into; records, arrays and values are leaves). */
function leafPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  const s = unwrapSchema(schema);
  if (!(s instanceof z.ZodObject)) return [prefix];
  return Object.entries(s.shape).flatMap(([key, field]) => leafPaths(field as z.ZodType, [...prefix, key]));
}

function filesUnder(path: string): string[] {
  const full = join(root, path);
  if (statSync(full).isFile()) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|cc|h)$/.test(f))
    .map((f) => join(full, f));
}

const sources = new Map<string, string>();
function source(file: string): string {
  let text = sources.get(file);
  if (text === undefined) {
    // strip comments so that a key named only in prose does not count as read
    text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    sources.set(file, text);
  }
  return text;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function isRead(key: string, files: readonly string[]): boolean {
  const k = escapeRegExp(key);
  const ts = new RegExp(`\\.${k}\\b|[{,]\\s*${k}\\s*[,}]|\\[['"]${k}['"]\\]`);
  const cc = new RegExp(`"${k}"`);
  return files.some((f) => (f.endsWith('.ts') ? ts : cc).test(source(f)));
}

/** The consumers of the section a leaf lives in: the longest listed section that contains it. */
function consumersOf(path: readonly string[], consumers: Consumers): readonly string[] {
  for (let n = path.length - 1; n >= 0; n--) {
    const section = path.slice(0, n).join('.');
    if (consumers[section]) return consumers[section];
  }
  throw new Error(`No consumers listed for ${path.join('.')}`);
}

/** The leaf keys of `schema` that no consumer of their section reads, as dotted paths. */
function unreadKeys(schema: z.ZodType, consumers: Consumers): string[] {
  const unread: string[] = [];
  for (const path of leafPaths(schema)) {
    const dotted = path.join('.');
    if (NOT_READ_BY_THE_LIBRARY[dotted]) continue;
    const files = consumersOf(path, consumers).flatMap(filesUnder);
    if (!isRead(path[path.length - 1], files)) unread.push(dotted);
  }
  return unread;
}

describe('every configuration key is read', () => {
  test('the experiment configuration (configs/paper.json)', () => {
    expect(leafPaths(ExperimentSchema).length).toBeGreaterThan(60);
    expect(unreadKeys(ExperimentSchema, EXPERIMENT_CONSUMERS)).toEqual([]);
  });

  test('the queue, worker, synthetic-cohort and radiomics settings', () => {
    expect(unreadKeys(QueueSchema, { '': ['lib/experiment/queue'] })).toEqual([]);
    expect(unreadKeys(WorkerSchema, { '': ['lib/experiment/queue'] })).toEqual([]);
    expect(unreadKeys(SynthSchema, { '': ['lib/data/synth.ts'] })).toEqual([]);
    expect(unreadKeys(RadiomicsSchema, { '': ['lib/radiomics'] })).toEqual([]);
    expect(unreadKeys(RandomForestSchema, { '': ['lib/radiomics'] })).toEqual([]);
  });

  test('the check fails on a key nobody reads', () => {
    // a schema with one dead knob added: the scan must name it, and only it
    const withDeadKey = z.object({ train: TrainSchema.extend({ neverReadKnob: z.boolean().default(false) }) });
    expect(unreadKeys(withDeadKey, { train: EXPERIMENT_CONSUMERS.train })).toEqual(['train.neverReadKnob']);
    // a key read elsewhere but not by its section's consumers still counts as unread
    const misplaced = z.object({ network: z.object({ checkpointEvery: z.number().default(1) }) });
    expect(unreadKeys(misplaced, { network: EXPERIMENT_CONSUMERS.network })).toEqual(['network.checkpointEvery']);
    // the key this test was written for: evaluation.commonTestOnly, which nothing ever read
    const withOldKey = z.object({ evaluation: EvaluationSchema.extend({ commonTestOnly: z.boolean().default(true) }) });
    expect(unreadKeys(withOldKey, { evaluation: EXPERIMENT_CONSUMERS.evaluation })).toEqual(['evaluation.commonTestOnly']);
  });
});
