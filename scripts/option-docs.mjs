#!/usr/bin/env node
// Writes lib/config/options.ts: the public option types (`NetworkOptions`, `TrainOptions`...) as
// interfaces whose every field carries the TSDoc of its schema's `.describe()` text, so that
// editors show it on hover (a `z.input<typeof XSchema>` alias shows none). Each field's type is
// read from the schema's own input type, and a compile-time check proves that each interface is
// `z.input<typeof XSchema>` (same keys, same optional keys, same field types, nested objects
// included): neither the types nor the docs can drift from the schemas. Rerun it whenever a schema
// gains, loses or re-describes a field; test/package/option-docs.test.ts fails until you do.
//
//   npx tsc -p tsconfig.build.json && node scripts/option-docs.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The public option types: the interface written, the schema it documents, the module that
 * declares the schema, and the interface's own TSDoc.
 */
export const OPTION_TYPES = [
  {
    name: 'NetworkOptions',
    schema: 'NetworkSchema',
    module: 'model',
    doc: "What callers pass to {@link createNetwork}; resolved against the study's defaults by {@link resolveNetworkConfig}.",
  },
  {
    name: 'SchedulerOptions',
    schema: 'SchedulerSchema',
    module: 'model',
    doc: "ReduceLROnPlateau settings of a network's optimiser (PyTorch's names in camelCase).",
  },
  { name: 'TrainOptions', schema: 'TrainSchema', module: 'train', doc: 'Settings of one training run ({@link Trainer}).' },
  {
    name: 'AugmentOptions',
    schema: 'AugmentSchema',
    module: 'train',
    doc: "Settings of the study's augmentation recipe ({@link expandTrainingSet}); docs/study.md section 3.",
  },
  { name: 'PreprocessOptions', schema: 'PreprocessSchema', module: 'data', doc: 'Preprocessing parameters (docs/study.md section 2).' },
  {
    name: 'CohortOptions',
    schema: 'CohortSchema',
    module: 'data',
    doc: "Where an experiment's cohort comes from: layout, labels file, skipping unusable patients.",
  },
  {
    name: 'SynthOptions',
    schema: 'SynthSchema',
    module: 'data',
    doc: 'Synthetic cohort generator settings (`synthCohort`, `spottune data synth`).',
  },
  {
    name: 'SplitOptions',
    schema: 'SplitSchema',
    module: 'experiment',
    doc: 'How the study partitions the patients (docs/study.md section 4).',
  },
  {
    name: 'EvaluationOptions',
    schema: 'EvaluationSchema',
    module: 'experiment',
    doc: 'How fold models become ensemble probabilities (docs/study.md section 5).',
  },
  {
    name: 'StatsOptions',
    schema: 'StatsSchema',
    module: 'experiment',
    doc: "Statistics of the paper's Tables 1-4 and the intervals beyond the paper.",
  },
  { name: 'ReportOptions', schema: 'ReportSchema', module: 'experiment', doc: 'What the report contains.' },
  {
    name: 'ExperimentOptions',
    schema: 'ExperimentSchema',
    module: 'experiment',
    doc: 'The whole experiment, as a config file or {@link runExperiment} takes it. Unknown keys are errors at every level.',
  },
  { name: 'QueueOptions', schema: 'QueueSchema', module: 'queue', doc: 'Where the queue lives and how jobs are enqueued and retried.' },
  {
    name: 'WorkerSettingsOptions',
    schema: 'WorkerSchema',
    module: 'queue',
    doc: "How a worker takes jobs and how dead workers' jobs are recovered.",
  },
  {
    name: 'RadiomicsOptions',
    schema: 'RadiomicsSchema',
    module: 'radiomics',
    doc: "Options of {@link extractRadiomics} (PyRadiomics's setting names); docs/study.md section 9.",
  },
  {
    name: 'RandomForestOptions',
    schema: 'RandomForestSchema',
    module: 'radiomics',
    doc: "Options of the random forest ({@link RandomForestClassifier}); scikit-learn's names in camelCase.",
  },
];

/**
 * Docs of fields whose schema has no `.describe()` (a nested schema reused as is). A field with
 * neither is an error: every public option field is documented.
 */
export const FIELD_DOCS = {
  'NetworkOptions.scheduler': "ReduceLROnPlateau settings of the network's learning rates.",
  'ExperimentOptions.splits': 'How the patients are split into test set and folds.',
  'ExperimentOptions.train': 'The training loop of every network of the grid.',
  'ExperimentOptions.augment': 'Training-time augmentation of every network of the grid.',
  'ExperimentOptions.preprocess': 'How the volumes are prepared before training.',
  'ExperimentOptions.evaluation': 'How the fold models become ensemble probabilities.',
  'ExperimentOptions.stats': 'The statistics of the report.',
  'ExperimentOptions.report': 'What the report contains.',
};

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** The schema under default/optional/... wrappers, the first description met, and whether null is allowed. */
function unwrap(schema) {
  let s = schema;
  let description = s.description;
  let nullable = false;
  while (WRAPPERS.has(s._zod.def.type)) {
    if (s._zod.def.type === 'nullable') nullable = true;
    s = s._zod.def.innerType;
    description ??= s.description;
  }
  return { inner: s, description, nullable };
}

const prop = (key) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key));
const quote = (text) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const index = (key) => `[${quote(key)}]`;
const docLines = (text, indent) => {
  const escaped = text.replace(/\*\//g, '*\\/');
  return `${indent}/** ${escaped} */\n`;
};

/**
 * Renders lib/config/options.ts from the schema modules (`{ model, train, ... }`, each a module
 * namespace holding the schemas of OPTION_TYPES).
 */
export function renderOptionDocs(modules) {
  const known = new Map();
  for (const t of OPTION_TYPES) {
    const schema = modules[t.module]?.[t.schema];
    if (!schema) throw new Error(`option-docs: lib/config/${t.module}.ts exports no ${t.schema}`);
    known.set(schema, t);
  }
  const missing = [];

  // `path` is the TS type expression of the object whose fields are rendered (its input type).
  const objectBody = (objectSchema, path, owner, indent) => {
    let out = '';
    for (const [key, field] of Object.entries(objectSchema.shape)) {
      const { inner, description, nullable } = unwrap(field);
      const where = `${owner}.${key}`;
      const doc = description ?? FIELD_DOCS[where];
      if (!doc) missing.push(where);
      const optional = field._zod.optin !== undefined;
      out += docLines(doc ?? '', indent);
      out += `${indent}${prop(key)}${optional ? '?' : ''}: ${fieldType(inner, nullable, `NonNullable<${path}${index(key)}>`, `${path}${index(key)}`, where, indent)};\n`;
    }
    return out;
  };

  const fieldType = (inner, nullable, objectPath, leafPath, where, indent) => {
    if (inner._zod.def.type !== 'object') return leafPath;
    const orNull = nullable ? ' | null' : '';
    const same = known.get(inner);
    if (same) return `${same.name}${orNull}`;
    // A known schema with keys omitted (NetworkSchema.omit({ kind: true })): the same field schemas.
    for (const [schema, t] of known) {
      const keys = Object.keys(inner.shape);
      if (keys.length && keys.every((k) => schema.shape[k] === inner.shape[k])) {
        const dropped = Object.keys(schema.shape).filter((k) => !keys.includes(k));
        if (dropped.length) return `Omit<${t.name}, ${dropped.map(quote).join(' | ')}>${orNull}`;
      }
    }
    return `{\n${objectBody(inner, objectPath, where, `${indent}  `)}${indent}}${orNull}`;
  };

  let body = '';
  for (const t of OPTION_TYPES) {
    const schema = modules[t.module][t.schema];
    body += `\n/**\n * ${t.doc}\n * @see {@link ${t.schema}} for the rules and defaults of each field.\n */\n`;
    body += `export interface ${t.name} {\n${objectBody(schema, `z.input<typeof ${t.schema}>`, t.name, '  ')}}\n`;
  }
  if (missing.length) throw new Error(`option-docs: no .describe() and no FIELD_DOCS entry for ${missing.join(', ')}`);

  const imports = Object.entries(OPTION_TYPES.reduce((acc, t) => ((acc[t.module] ??= []).push(t.schema), acc), {}))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([module, names]) => `import type { ${names.sort().join(', ')} } from './${module}.js';`)
    .join('\n');
  const checks = OPTION_TYPES.map((t) => `  ${t.name}: Same<${t.name}, z.input<typeof ${t.schema}>>;`).join('\n');
  return `// GENERATED by scripts/option-docs.mjs from the schemas' .describe() texts; do not edit. Rerun
// it after changing a schema (test/package/option-docs.test.ts says when).
//
// The public option types as interfaces, so that each field shows its documentation on hover. The
// field types are the schemas' own input types, and OptionTypesMatchSchemas below fails to compile
// when an interface and its schema's z.input differ in any key, optionality or type.
import type { z } from 'zod';
${imports}
${body}
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type PlainObject<T> = T extends readonly unknown[] ? false : T extends (...args: never[]) => unknown ? false : T extends object ? true : false;
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** True when A and B have the same keys, the same required keys and the same field types, at every depth. */
type Same<A, B> =
  Mutual<A, B> extends true
    ? [PlainObject<A>, PlainObject<B>] extends [true, true]
      ? Mutual<keyof A, keyof B> extends true
        ? Mutual<RequiredKeys<A>, RequiredKeys<B>> extends true
          ? { [K in keyof A]-?: K extends keyof B ? Same<NonNullable<A[K]>, NonNullable<B[K]>> : false }[keyof A] extends true
            ? true
            : false
          : false
        : false
      : true
    : false;
type Holds<T extends Record<string, true>> = T;
/** Compiles only while every interface above equals its schema's input type. */
export type OptionTypesMatchSchemas = Holds<{
${checks}
}>;
`;
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolve(process.argv[1]) === self) {
  const root = resolve(dirname(self), '..');
  const modules = {};
  for (const m of new Set(OPTION_TYPES.map((t) => t.module))) {
    modules[m] = await import(pathToFileURL(join(root, `dist/lib/config/${m}.js`)).href);
  }
  const target = join(root, 'lib/config/options.ts');
  const text = renderOptionDocs(modules);
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== text) {
      console.error('lib/config/options.ts is stale: run `npx tsc -p tsconfig.build.json && node scripts/option-docs.mjs`');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
