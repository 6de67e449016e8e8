/**
 * Command-line options made from the configuration schemas: an option's default and help text are
 * the zod field's `.default()` and `.describe()`, so `spottune --help` states the study's values
 * from the one place they live (lib/config) instead of restating them.
 * @module
 */
import { InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { zodDef } from '../config/schema-walk.js';

/** What a schema field says about itself. */
export interface SchemaField {
  /** The `.describe()` text, from the outermost wrapper that has one. */
  description?: string;
  /** Whether the field has a `.default()`. */
  hasDefault: boolean;
  /** The default value (undefined without one). */
  default?: unknown;
}

/**
 * Reads a field's description and default through its wrappers (default, optional, nullable,
 * pipe), so `z.number().describe(d).default(v)` and `z.number().default(v).describe(d)` read alike.
 */
export function schemaField(field: z.ZodType): SchemaField {
  const out: SchemaField = { hasDefault: false };
  let current: z.ZodType | undefined = field;
  for (let i = 0; current && i < 20; i++) {
    out.description ??= current.description;
    const def = zodDef(current);
    if ((def.type === 'default' || def.type === 'prefault') && !out.hasDefault) {
      out.hasDefault = true;
      const value = def.defaultValue;
      out.default = typeof value === 'function' ? (value as () => unknown)() : value;
    }
    current = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return out;
}

/** Options of {@link schemaOption}. */
export interface SchemaOptionOptions {
  /** Converts the flag's text; the schema default is used as it is. */
  parse?: (value: string, flag: string) => unknown;
  /** Appended to the schema's description (e.g. the allowed values, or a note on the CLI). */
  note?: string;
  /** Leave the option without a default (its value then comes from elsewhere, e.g. a config file). */
  noDefault?: boolean;
  /** How the default reads in the help; default: the value. */
  defaultDescription?: string;
}

/**
 * A commander option whose help text is the field's description and whose default is the field's
 * default (shown by `--help` as `(default: ...)`). A given value is checked against the field as
 * the argument parser reads it, so `--epochs 0` fails as a one-line usage error naming the flag,
 * before the command runs or writes anything.
 * @param flags commander's flag syntax, e.g. `'--epochs <n>'`
 * @param field the zod field, e.g. `TrainSchema.shape.epochs`
 * @throws TypeError when the field has no description (every option must say what it does)
 */
export function schemaOption(flags: string, field: z.ZodType, options: SchemaOptionOptions = {}): Option {
  const info = schemaField(field);
  if (!info.description) throw new TypeError(`The schema field behind ${flags} has no .describe() text`);
  // help lines start in lower case, as commander's own do; a leading name such as ResNet stays
  const word = info.description.split(/[^A-Za-z]/)[0];
  const text = /^[A-Z][a-z]*$/.test(word) ? info.description[0].toLowerCase() + info.description.slice(1) : info.description;
  const option = new Option(flags, options.note ? `${text}${options.note}` : text);
  const parse = options.parse;
  const name = flags.split(/[ ,]/)[0];
  option.argParser((value: string) => {
    const parsed = parse ? parse(value, name) : value;
    const checked = field.safeParse(parsed);
    if (!checked.success) throw new InvalidArgumentError(checked.error.issues.map((i) => i.message).join('; '));
    return parsed;
  });
  if (info.hasDefault && !options.noDefault) {
    const shown = options.defaultDescription ?? (typeof info.default === 'object' ? JSON.stringify(info.default) : undefined);
    option.default(info.default, shown);
  }
  return option;
}

/** Parses an integer flag value, failing with commander's usage error (flag and value named). */
export function intFlag(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n))
    throw new InvalidArgumentError(`Expected an integer for ${flag} but received ${JSON.stringify(value)}`);
  return n;
}

/** Parses a number flag value, failing with commander's usage error (flag and value named). */
export function numberFlag(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n))
    throw new InvalidArgumentError(`Expected a number for ${flag} but received ${JSON.stringify(value)}`);
  return n;
}

/** The entries of a comma-separated flag value (`'T2, FLAIR'` -> `['T2', 'FLAIR']`, empty entries dropped); undefined without a value. */
export function listFlag(value: string | undefined): string[] | undefined {
  return value
    ? value
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : undefined;
}
