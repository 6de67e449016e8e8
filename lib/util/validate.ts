/**
 * Argument checks shared by the public API. Each throws a TypeError (wrong kind) or RangeError
 * (wrong value) that names the argument, states the rule and shows what arrived.
 * @module
 */

/**
 * How a received value is shown in an error message: `0 (number)`, `"b" (string)`, `9007199254740993n (bigint)`.
 * Never throws, whatever arrives: it runs on error paths, where a second error would hide the first
 * (a .pth's sizes above 2^53 arrive as BigInts, which JSON.stringify refuses).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${value instanceof DataView ? value.byteLength : (value as Uint8Array).length})`;
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describeElement).join(', ')}${value.length > 8 ? ', ...' : ''}] (array)`;
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (typeof value === 'symbol') return `${value.toString()} (symbol)`;
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `${String(value)} (${typeof value})`;
}

// An array element as JSON shows it, except what JSON cannot show (BigInt, undefined, symbols, functions, cycles).
function describeElement(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Array.isArray(v) ? '[...]' : '{...}';
  }
}

export function checkInteger(value: unknown, name: string, { min = -Infinity, max = Infinity } = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected an integer for ${name} but received ${describeValue(value)}`);
  }
  if (value < min || value > max) {
    const rule =
      min === 1 && max === Infinity
        ? 'a positive integer'
        : min === 0 && max === Infinity
          ? 'a non-negative integer'
          : `an integer in [${min}, ${max}]`;
    throw new RangeError(`Expected ${rule} for ${name} but received ${describeValue(value)}`);
  }
  return value;
}

export function checkNumber(value: unknown, name: string, { min = -Infinity, max = Infinity, finite = true } = {}): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected a number for ${name} but received ${describeValue(value)}`);
  }
  if ((finite && !Number.isFinite(value)) || value < min || value > max) {
    throw new RangeError(`Expected a number in [${min}, ${max}] for ${name} but received ${describeValue(value)}`);
  }
  return value;
}

export function checkShape(value: unknown, name: string, { rank }: { rank?: number | readonly number[] } = {}): number[] {
  if (!Array.isArray(value) || value.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`Expected ${name} to be an array of non-negative integers but received ${describeValue(value)}`);
  }
  const ranks = rank === undefined ? undefined : Array.isArray(rank) ? rank : [rank];
  if (ranks && !ranks.includes(value.length)) {
    throw new RangeError(`Expected ${name} to have rank ${ranks.join(' or ')} but received rank ${value.length}: [${value.join(', ')}]`);
  }
  return value as number[];
}

/** Suggests the closest allowed value: `Unknown shortcutType "b"; did you mean "B"?` */
export function checkOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const hint = typeof value === 'string' ? nearest(value, allowed) : undefined;
  throw new RangeError(
    `Unknown ${name} ${describeValue(value)}; expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` +
      (hint ? `; did you mean ${JSON.stringify(hint)}?` : ''),
  );
}

/** The allowed value closest to `value` by case-insensitive edit distance, if close enough. */
export function nearest<T extends string>(value: string, allowed: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(value.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
