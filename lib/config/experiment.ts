/**
 * The experiment configuration: the study's whole protocol (splits, the grid of networks x
 * modalities x folds, Gumbel-averaged evaluation, ensembles, statistics, report) as one strict
 * schema. Every default is the paper's value and cites where it comes from (Schmitz, Guo, Wang
 * 2024; "REF" = the study's code, docs/study.md). Training, augmentation and preprocessing
 * settings are the schemas of lib/config/train.ts, lib/config/model.ts and lib/config/data.ts,
 * nested here.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { nearest } from '../util/validate.js';
import { CohortSchema, MODALITIES, MODALITY_GROUPS, PreprocessSchema } from './data.js';
import { NetworkSchema } from './model.js';
import { unwrapSchema } from './schema-walk.js';
import { AugmentSchema, TRAIN_NETWORKS, TrainSchema } from './train.js';

/** The study's experiment-level values. */
export const PAPER_EXPERIMENT = {
  /** Section 4: `train_test_split(test_size=0.3, random_state=42, stratify=y)`; split_seed 42. */
  splitSeed: 42,
  testSize: 0.3,
  /** Section 4: the 70/30 split is anchored on the 189 patients with DSC. */
  anchor: 'DSC',
  /** Section 4: `StratifiedKFold(n_splits=5, shuffle=True, random_state=42)`. */
  folds: 5,
  /** Paper and the ensembling notebook: 100 Gumbel samples per fold model, seed 42. */
  gumbelSamples: 100,
  gumbelSeed: 42,
  /** Ensembling cell 11: metrics at threshold 0.5 with `> 0.5`. */
  threshold: 0.5,
  /**
   * Ensembling cells 8-11: each ensemble is the flat mean over its derivative models
   * (DSC 3, DTI 4, Struct 4, DSC+DTI 7, DSC+Struct 7, DTI+Struct 8, all 11).
   */
  ensembles: {
    DSC: ['DSC'],
    DTI: ['DTI'],
    Struct: ['struct'],
    'DSC+DTI': ['DSC', 'DTI'],
    'DSC+Struct': ['DSC', 'struct'],
    'DTI+Struct': ['DTI', 'struct'],
    'DSC+DTI+Struct': ['DSC', 'DTI', 'struct'],
  },
  /** Table 4: exact studentized-range p-values by default; the paper's 0.9 cap is an option. */
  nemenyiClamp: false,
} as const;

/** The study's roles of the radiomics baseline's structural modalities (docs/study.md section 9). */
const RADIOMICS_ROLES = ['T1', 'T1GD', 'T2', 'FLAIR'] as const;

/** How the study partitions the patients (docs/study.md section 4). */
export const SplitSchema = z
  .object({
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(PAPER_EXPERIMENT.splitSeed)
      .describe("numpy RandomState seed of the train/test split and of the folds (scikit-learn's random_state)"),
    testSize: z
      .number()
      .positive()
      .default(PAPER_EXPERIMENT.testSize)
      .describe('Test share in (0, 1) (test count = ceil(share * n)), or a count'),
    folds: z.number().int().min(2).default(PAPER_EXPERIMENT.folds).describe('Cross-validation folds of each training pool'),
    shuffle: z.boolean().default(true).describe('Shuffle before assigning folds (StratifiedKFold shuffle=True)'),
    stratify: z.boolean().default(true).describe('Stratify the split and the folds on MGMT status; false gives ShuffleSplit and KFold'),
    anchor: z
      .string()
      .nullable()
      .default(PAPER_EXPERIMENT.anchor)
      .describe('Group whose patients are split first; the others add their own patients; null splits each group alone'),
    sortIds: z
      .boolean()
      .default(true)
      .describe('Sort patient IDs ascending before splitting (REF listed them with os.scandir on NTFS, alphabetically)'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof SplitSchema>.
import type { SplitOptions } from './options.js';
export type { SplitOptions };
/** {@link SplitOptions} resolved by SplitSchema: every default filled in; what the code downstream receives. */
export type SplitConfig = z.output<typeof SplitSchema>;

/**
 * How fold models become ensemble probabilities (docs/study.md section 5, evaluation).
 * Every ensemble is scored on the common test set, the patients with every modality group of the
 * grid, so that the networks and the ensembles are compared on the same patients (the Friedman
 * and Nemenyi tests need that). The reference code scored Struct and DTI on their own, larger
 * test sets, a bug the paper's tables do not reflect; this library offers no switch back to it.
 */
export const EvaluationSchema = z
  .object({
    gumbelSamples: z
      .number()
      .int()
      .positive()
      .default(PAPER_EXPERIMENT.gumbelSamples)
      .describe('Gumbel samples averaged per SpotTune fold model (REF published max_range = 1, a bug)'),
    gumbelSeed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(PAPER_EXPERIMENT.gumbelSeed)
      .describe('Seed of the evaluation Gumbel noise: sample s uses gumbelSeed + s'),
    threshold: z
      .number()
      .min(0)
      .max(1)
      .default(PAPER_EXPERIMENT.threshold)
      .describe('Probability above which a patient is predicted methylated (SEN, SPE, ACC)'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof EvaluationSchema>.
import type { EvaluationOptions } from './options.js';
export type { EvaluationOptions };
/** {@link EvaluationOptions} resolved by EvaluationSchema: every default filled in; what the code downstream receives. */
export type EvaluationConfig = z.output<typeof EvaluationSchema>;

/** Statistics of Tables 1-4 and the intervals beyond the paper. */
export const StatsSchema = z
  .object({
    nemenyiClamp: z
      .boolean()
      .default(PAPER_EXPERIMENT.nemenyiClamp)
      .describe("Clamp Nemenyi p-values to [0.001, 0.9] as the paper's statsmodels psturng lookup did"),
    bootstrapResamples: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe('Bootstrap resamples of the AUC and AP intervals (beyond the paper)'),
    bootstrapSeed: z.number().int().min(0).max(0xffffffff).default(42).describe('Seed of the bootstrap resampling'),
    ciLevel: z.number().gt(0).lt(1).default(0.95).describe('Confidence level of the intervals'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof StatsSchema>.
import type { StatsOptions } from './options.js';
export type { StatsOptions };
/** {@link StatsOptions} resolved by StatsSchema: every default filled in; what the code downstream receives. */
export type StatsConfig = z.output<typeof StatsSchema>;

/** What the report contains. */
export const ReportSchema = z
  .object({
    title: z
      .string()
      .min(1)
      .default('MGMT methylation from MRI: 3D SpotTune vs transfer learning vs training from scratch')
      .describe('Heading of the report'),
    formats: z
      .array(z.enum(['html', 'md', 'csv', 'json']))
      .min(1)
      .default(['html', 'md', 'csv', 'json'])
      .describe('Files to write'),
  })
  .strict();
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof ReportSchema>.
import type { ReportOptions } from './options.js';
export type { ReportOptions };
/** {@link ReportOptions} resolved by ReportSchema: every default filled in; what the code downstream receives. */
export type ReportConfig = z.output<typeof ReportSchema>;

function unknownName(what: string, value: unknown, allowed: readonly string[]): string {
  const hint = typeof value === 'string' ? nearest(value, allowed) : undefined;
  return `Unknown ${what} ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''}`;
}

/**
 * The whole experiment. Unknown keys are errors at every level.
 * @see docs/study.md sections 3-5 and "Things a faithful reimplementation must get right"
 */
export const ExperimentSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of configs/experiment.schema.json, for editors'),
    networks: z
      .array(z.enum(TRAIN_NETWORKS))
      .min(1)
      .default([...TRAIN_NETWORKS])
      .describe('Networks of the grid: SpotTune, trained from scratch (random), MedicalNet transfer (paper section 2.3)'),
    cohort: CohortSchema.prefault({}).describe(
      'Where the cohort comes from: layout (detected when null), labels file, skipping unusable patients',
    ),
    modalityGroups: z
      .record(z.string().min(1), z.array(z.string().min(1)).min(1))
      .default(structuredClone(MODALITY_GROUPS) as unknown as Record<string, string[]>)
      .describe(
        "Modality groups (name -> modalities, the cohort's own names): what ensembles and splits.anchor name; default the study's struct, DTI and DSC",
      ),
    modalities: z
      .array(z.string().min(1))
      .min(1)
      .default([...MODALITIES])
      .describe('Derivatives of the grid: one model per modality per fold (docs/study.md "must get right" 3); each in a modality group'),
    ensembles: z
      .record(z.string().min(1), z.array(z.string().min(1)).min(1))
      .default(structuredClone(PAPER_EXPERIMENT.ensembles) as unknown as Record<string, string[]>)
      .describe('Ensemble name -> the groups or modalities it averages (flat mean over derivative models)'),
    radiomics: z
      .boolean()
      .default(true)
      .describe(
        'Also score the radiomics random-forest baseline (Li et al. 2018, six features) on the same splits (paper Table 1); needs the structural modalities',
      ),
    radiomicsModalities: z
      .object(
        Object.fromEntries(
          RADIOMICS_ROLES.map((r) => [r, z.string().min(1).default(r).describe(`The cohort's modality playing the study's ${r}`)]),
        ) as Record<(typeof RADIOMICS_ROLES)[number], z.ZodDefault<z.ZodString>>,
      )
      .strict()
      .prefault({})
      .describe("The cohort's modality for each structural role of the six radiomics features (BraTS 2021: t1, t1ce, t2, flair)"),
    splits: SplitSchema.prefault({}),
    network: NetworkSchema.omit({ kind: true })
      .prefault({})
      .describe('Architecture and optimiser of every network of the grid (its kind comes from networks)'),
    train: TrainSchema.prefault({}),
    augment: AugmentSchema.prefault({}),
    preprocess: PreprocessSchema.prefault({}),
    evaluation: EvaluationSchema.prefault({}),
    stats: StatsSchema.prefault({}),
    report: ReportSchema.prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    const groups = config.modalityGroups;
    const known = groupedModalities(groups);
    const seen = new Map<string, string>();
    for (const [g, members] of Object.entries(groups)) {
      for (const m of members) {
        if (seen.has(m))
          ctx.addIssue({
            code: 'custom',
            path: ['modalityGroups', g],
            message: `Modality ${m} is in groups ${seen.get(m)} and ${g}; a modality belongs to one group`,
          });
        else seen.set(m, g);
      }
    }
    config.modalities.forEach((m, i) => {
      if (!known.includes(m)) ctx.addIssue({ code: 'custom', path: ['modalities', i], message: unknownName('value', m, known) });
    });
    const grid = new Set<string>(config.modalities);
    const members_ = [...Object.keys(groups), ...known];
    for (const [name, members] of Object.entries(config.ensembles)) {
      members.forEach((member, i) => {
        if (!members_.includes(member))
          ctx.addIssue({ code: 'custom', path: ['ensembles', name, i], message: unknownName('ensemble member', member, members_) });
      });
      for (const member of expandEnsemble(members, groups)) {
        if (!grid.has(member)) {
          ctx.addIssue({
            code: 'custom',
            path: ['ensembles', name],
            message: `Ensemble ${name} needs modality ${member}, which is not in modalities`,
          });
        }
      }
    }
    const names = Object.keys(groups);
    if (config.splits.anchor !== null && !names.includes(config.splits.anchor)) {
      ctx.addIssue({ code: 'custom', path: ['splits', 'anchor'], message: unknownName('anchor group', config.splits.anchor, names) });
    }
  });
// Documented field by field (hover) in the generated options.ts, checked there against z.input<typeof ExperimentSchema>.
import type { ExperimentOptions } from './options.js';
export type { ExperimentOptions };
/** {@link ExperimentOptions} resolved by ExperimentSchema: every default filled in; what the code downstream receives. */
export type ExperimentConfig = z.output<typeof ExperimentSchema>;

/** Every modality of `groups`, group by group (for the study's groups: its channel order). */
export function groupedModalities(groups: Readonly<Record<string, readonly string[]>>): string[] {
  return [...new Set(Object.values(groups).flat())];
}

/**
 * The derivative modalities an ensemble averages, groups expanded, in the groups' order (the
 * study's channel order for its own groups, the default).
 */
export function expandEnsemble(
  members: readonly string[],
  groups: Readonly<Record<string, readonly string[]>> = MODALITY_GROUPS,
): string[] {
  const wanted = new Set<string>();
  for (const m of members) {
    if (Object.hasOwn(groups, m)) for (const d of groups[m]) wanted.add(d);
    else wanted.add(m);
  }
  return groupedModalities(groups).filter((m) => wanted.has(m));
}

/** One problem of a configuration, with the dotted key path where it was found. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A configuration that does not validate; `issues` lists every problem with its key path. */
export class ConfigError extends Error {
  readonly code = 'ERR_INVALID_CONFIG';
  constructor(
    message: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The keys an object schema allows at `path` inside `root`, if it is an object there. */
function keysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let schema = unwrapSchema(root);
  for (const key of path) {
    if (schema instanceof z.ZodObject) schema = unwrapSchema(schema.shape[key as string] as z.ZodType);
    else if (schema instanceof z.ZodRecord) schema = unwrapSchema(schema.valueType as z.ZodType);
    else if (schema instanceof z.ZodArray) schema = unwrapSchema(schema.element as z.ZodType);
    else return undefined;
    if (!schema) return undefined;
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

/**
 * Keys that configurations once had and that now do nothing. The schemas are strict, so an old
 * configuration that still carries one is rejected; the message says where the setting went
 * instead of only "unknown key".
 */
export const RETIRED_KEYS: readonly { key: string; owner: z.ZodObject; message: string }[] = [
  {
    key: 'gumbelTau',
    owner: NetworkSchema,
    message:
      'network.gumbelTau was removed: the Gumbel temperature is a training value (it can change per epoch); set train.gumbelTau instead (a constant, or [[epoch, tau], ...])',
  },
  {
    key: 'commonTestOnly',
    owner: EvaluationSchema,
    message:
      'evaluation.commonTestOnly was removed: every ensemble is scored on the common test set (the only setting that ever ran); delete the key',
  },
];

/** The retirement notice of `key` in an object schema whose keys are `allowed`, if it has one. */
function retiredKey(key: string, allowed: readonly string[]): string | undefined {
  for (const r of RETIRED_KEYS) {
    const owned = Object.keys(r.owner.shape);
    // `allowed` comes from the owner itself or from a derivation of it (ExperimentSchema's network omits kind)
    if (r.key === key && allowed.length > 0 && allowed.every((k) => owned.includes(k))) return r.message;
  }
  return undefined;
}

/** Turns zod issues into messages with key paths and did-you-mean suggestions. */
export function describeConfigIssues(schema: z.ZodType, error: z.ZodError): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const where = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(schema, issue.path) ?? [];
      for (const key of issue.keys) {
        const retired = retiredKey(key, allowed);
        if (retired) {
          issues.push({ path: [...issue.path.map(String), key].join('.'), message: retired });
          continue;
        }
        const hint = nearest(key, allowed);
        issues.push({
          path: [...issue.path.map(String), key].join('.'),
          message: `Unknown key ${JSON.stringify(key)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''}${allowed.length ? ` (allowed here: ${allowed.join(', ')})` : ''}`,
        });
      }
    } else if (issue.code === 'invalid_value' && 'values' in issue) {
      const allowed = issue.values.map(String);
      const received = (issue as { input?: unknown }).input;
      issues.push({ path: where, message: unknownName('value', received, allowed) });
    } else {
      issues.push({ path: where, message: issue.message });
    }
  }
  return issues;
}

/**
 * Parses `value` with `schema`, turning a failure into a {@link ConfigError} whose message lists
 * every problem as `key.path: message`.
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issues = describeConfigIssues(schema, parsed.error);
  throw new ConfigError(`Invalid ${source}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`, issues);
}

/**
 * Resolves experiment options against the paper's defaults.
 * @throws {ConfigError} listing every invalid key with its path
 */
export function resolveExperimentConfig(options: unknown = {}, source = 'experiment config'): ExperimentConfig {
  return parseConfig(ExperimentSchema, options, source);
}

/** Resolves split options against the paper's defaults. @throws {ConfigError} */
export function resolveSplitConfig(options: unknown = {}): SplitConfig {
  return parseConfig(SplitSchema, options, 'split config');
}

/**
 * Reads a JSON experiment configuration and resolves it against the paper's defaults.
 * @throws {ConfigError} when the file is not JSON or a key is invalid (with its path)
 */
export async function loadExperimentConfig(path: string): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read the experiment config ${path}: ${(err as Error).message}`, [
      { path: '(file)', message: (err as Error).message },
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`The experiment config ${path} is not valid JSON: ${(err as Error).message}`, [
      { path: '(file)', message: (err as Error).message },
    ]);
  }
  return resolveExperimentConfig(raw, `experiment config ${path}`);
}

/** The JSON Schema of the experiment configuration (committed as configs/experiment.schema.json). */
export function experimentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ExperimentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
