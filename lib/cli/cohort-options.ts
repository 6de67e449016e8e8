/**
 * The options that say which cohort a command reads, shared by every command that opens one
 * (`data summary`, `data prepare`, `radiomics extract`), so `--layout`, `--labels` and the label
 * mapping mean the same everywhere, and every one of them reaches any layout through
 * {@link openDataset}.
 * @module
 */
import type { Command } from 'commander';
import { CohortSchema } from '../config/data.js';
import type { Dataset } from '../data/cohort/layouts.js';
import { CliError } from './errors.js';
import { checkInputPath } from './output.js';
import { listFlag, schemaOption } from './schema-option.js';

/** Flags added by {@link addCohortOptions}, plus the `--data`, `--mask` and `--clinical-csv` each command has. */
export interface CohortFlags {
  data: string;
  layout?: string;
  labels?: string;
  labelColumn?: string;
  positive?: string;
  negative?: string;
  delimiter?: string;
  skipUnusable?: boolean;
  mask: 'automated' | 'corrected';
  clinicalCsv?: string;
}

/**
 * Adds `--layout`, `--labels`, `--label-column`, `--positive`, `--negative`, `--delimiter` and
 * `--skip-unusable` to `command` (its `--data`, `--mask` and `--clinical-csv` stay its own, for
 * their help text).
 * @returns `command`, for chaining
 */
export function addCohortOptions(command: Command): Command {
  return command
    .addOption(
      schemaOption('--layout <layout>', CohortSchema.shape.layout, { noDefault: true, note: ' (default: detected when unambiguous)' }),
    )
    .option('--labels <file>', 'labels or clinical CSV (default: the one inside the dataset folder; one elsewhere is only used when named)')
    .option('--label-column <name>', "label column of a folders labels CSV or a CSV manifest (default 'label', else 'MGMT')")
    .option('--positive <values>', 'comma-separated label values of class 1 (default 1, methylated, true, yes, positive)')
    .option('--negative <values>', 'comma-separated label values of class 0 (default 0, unmethylated, false, no, negative)')
    .option('--delimiter <char>', "CSV delimiter: ',', ';' or 'tab' (default: detected)")
    .option('--skip-unusable', 'list the patients with missing or unreadable files and go on with the rest (default: an error)');
}

/**
 * Checks the cohort flags' paths and opens the cohort they name, in any layout. Nothing is
 * written, so a command calls it before it prepares its output.
 * @throws {CliError} ENOENT, ENOTDIR or EISDIR naming the flag; ERR_CONFLICTING_OPTIONS when
 *   `--labels` and `--clinical-csv` name different files; what {@link openDataset} throws
 */
export async function openCohortOfFlags(flags: CohortFlags): Promise<Dataset> {
  // a manifest is a file; every other layout is a folder
  const manifest = flags.layout === 'manifest' || (flags.layout === undefined && /\.(json|csv)$/i.test(flags.data));
  await checkInputPath(flags.data, '--data', manifest ? 'file' : 'directory');
  if (flags.clinicalCsv) await checkInputPath(flags.clinicalCsv, '--clinical-csv', 'file');
  if (flags.labels) await checkInputPath(flags.labels, '--labels', 'file');
  if (flags.labels && flags.clinicalCsv && flags.labels !== flags.clinicalCsv) {
    throw new CliError('ERR_CONFLICTING_OPTIONS', `--labels ${flags.labels} and --clinical-csv ${flags.clinicalCsv} name different files`);
  }
  const { openDataset } = await import('../data/cohort/layouts.js');
  const endpoint = {
    ...(flags.labelColumn ? { column: flags.labelColumn } : {}),
    ...(flags.positive ? { positive: listFlag(flags.positive) } : {}),
    ...(flags.negative ? { negative: listFlag(flags.negative) } : {}),
  };
  const labels = flags.labels ?? flags.clinicalCsv;
  return openDataset(flags.data, {
    mask: flags.mask,
    ...(flags.layout ? { layout: flags.layout as never } : {}),
    ...(labels ? { labels } : {}),
    ...(Object.keys(endpoint).length ? { endpoint } : {}),
    ...(flags.delimiter ? { delimiter: flags.delimiter === 'tab' ? '\t' : flags.delimiter } : {}),
    ...(flags.skipUnusable ? { skipUnusable: true } : {}),
  });
}
