/**
 * The CLI's one error path: whatever a command throws becomes one line on stderr, `spottune:
 * <message> (<code>)`, and a non-zero exit; with `--json` the same code and message also go to
 * stdout as `{"error": {"code", "message"}}`, so a script reads one JSON document either way.
 * Schema issues name the flag they came from, Node's fs errors name the file, and the argument
 * parser's own errors get codes of the same family.
 * @module
 */
import { CommanderError } from 'commander';
import { z } from 'zod';

/** An error of the CLI itself (a bad flag, an unreachable queue), with a stable `code`. */
export class CliError extends Error {
  /**
   * @param code stable, e.g. `ERR_INVALID_OPTION`
   * @param message one line naming the option or file
   */
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What the CLI prints for an error: a stable code and a one-line message. */
export interface CliErrorReport {
  code: string;
  message: string;
  /** A configuration file's problems, one per key path, printed under the coded first line. */
  issues?: Array<{ path: string; message: string }>;
}

/** Codes for commander's own errors (what the argument parser refuses). */
const COMMANDER_CODES: Record<string, string> = {
  'commander.invalidArgument': 'ERR_INVALID_OPTION',
  'commander.unknownOption': 'ERR_UNKNOWN_OPTION',
  'commander.unknownCommand': 'ERR_UNKNOWN_COMMAND',
  'commander.missingMandatoryOptionValue': 'ERR_MISSING_OPTION',
  'commander.optionMissingArgument': 'ERR_MISSING_OPTION_VALUE',
  'commander.missingArgument': 'ERR_MISSING_ARGUMENT',
  'commander.excessArguments': 'ERR_EXCESS_ARGUMENTS',
  'commander.conflictingOption': 'ERR_CONFLICTING_OPTIONS',
};

/** Node's system-error fields (fs, net). */
interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
}

/** Words for the fs codes people meet most, so the line reads without a man page. */
const SYSTEM_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'timed out',
};

/** Flags of the command being run, keyed by the option's attribute name (`batchSize` -> `--batch-size`). */
export type FlagNames = ReadonlyMap<string, string>;

/** The flag that a schema issue's path names, if the running command has one by that name. */
function flagOf(path: readonly PropertyKey[], flags: FlagNames | undefined): string | undefined {
  if (!flags) return undefined;
  for (let i = path.length - 1; i >= 0; i--) {
    const key = path[i];
    if (typeof key === 'string' && flags.has(key)) return flags.get(key);
  }
  return undefined;
}

/** One line for a zod error: its first issue, the flag (or key path) it is about, and how many more. */
function zodLine(err: z.ZodError, flags: FlagNames | undefined): string {
  const [first, ...rest] = err.issues;
  if (!first) return 'invalid options';
  const flag = flagOf(first.path, flags);
  const where = flag ?? (first.path.length ? first.path.map(String).join('.') : 'options');
  return `${where}: ${first.message}${rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : ''}`;
}

/** The one line for a system error: what failed, on which file or address, in words. */
function systemLine(err: SystemError): string {
  const code = err.code!;
  const target = err.path
    ? `${err.path}${err.dest ? ` -> ${err.dest}` : ''}`
    : err.address
      ? `${err.address}${err.port ? `:${err.port}` : ''}`
      : undefined;
  const words = SYSTEM_WORDS[code];
  if (target && words) return `${target}: ${words}${err.syscall ? ` (${err.syscall})` : ''}`;
  // Node's own message ("ENOENT: no such file or directory, open 'x'") already names the file
  return err.message.replace(new RegExp(`^${code}:\\s*`), '');
}

/**
 * Turns anything a command throws into the code and one-line message the CLI prints.
 * @param err what was thrown
 * @param flags the running command's flags by attribute name, to name the flag behind a schema issue
 */
export function cliErrorReport(err: unknown, flags?: FlagNames): CliErrorReport {
  if (err instanceof CommanderError) {
    return { code: COMMANDER_CODES[err.code] ?? 'ERR_USAGE', message: firstLine(err.message.replace(/^error:\s*/, '')) };
  }
  if (err instanceof z.ZodError) return { code: 'ERR_INVALID_OPTION', message: zodLine(err, flags) };
  if (!(err instanceof Error)) return { code: 'ERR_UNKNOWN', message: firstLine(String(err)) };
  const e = err as SystemError;
  // library errors: TorchError, CheckpointError, NiftiError, ConfigError... carry their own code
  if (
    typeof e.code === 'string' &&
    /^E[A-Z0-9]+$/.test(e.code) &&
    (e.syscall !== undefined || e.path !== undefined || e.address !== undefined)
  ) {
    return { code: e.code, message: firstLine(systemLine(e)) };
  }
  const issues = (e as { issues?: unknown }).issues;
  if (
    typeof e.code === 'string' &&
    Array.isArray(issues) &&
    issues.every((i) => typeof i?.path === 'string' && typeof i?.message === 'string')
  ) {
    // '(file)' issues (unreadable, not JSON) repeat what the first line already says
    const listed = issues.filter((i) => i.path !== '(file)').map((i) => ({ path: i.path, message: firstLine(i.message) }));
    return { code: e.code, message: e.message.split('\n')[0].trim().replace(/:$/, ''), ...(listed.length ? { issues: listed } : {}) };
  }
  if (typeof e.code === 'string' && e.code !== '')
    return { code: e.code, message: firstLine(e.message.replace(new RegExp(`\\s*\\(${e.code}\\)$`), '')) };
  // argument errors of the public API name the argument; their class is their code
  // argument errors of the public API name the argument; one naming a flag of the command is the
  // user's option, anything else an argument the CLI passed on
  if (e instanceof RangeError || e instanceof TypeError) {
    const namesFlag = flags !== undefined && [...flags.values()].some((f) => new RegExp(`(^|[^\\w-])${f}(?![\\w-])`).test(e.message));
    return { code: namesFlag ? 'ERR_INVALID_OPTION' : 'ERR_INVALID_ARGUMENT', message: firstLine(e.message) };
  }
  if (e.name === 'AbortError') return { code: 'ERR_ABORTED', message: firstLine(e.message) };
  return { code: 'ERR_FAILED', message: firstLine(e.message) };
}

/**
 * The first line of a message; a multi-line message (a configuration's several problems) keeps
 * its count so the line says there is more.
 */
function firstLine(message: string): string {
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  if (lines.length <= 1) return (lines[0] ?? '').trim();
  return `${lines[0].trim().replace(/:$/, '')} (${lines.length - 1} more line${lines.length > 2 ? 's' : ''}; SPOTTUNE_DEBUG=1 shows them)`;
}
