/**
 * Reading zod schemas themselves (not values): the wrapper chain that `.default()`, `.optional()`,
 * `.nullable()` and pipes build around a field. Internal: the config checks, the CLI's option
 * builder and the configuration tests walk schemas through these two functions only.
 * @module
 */
import type { z } from 'zod';

/** The definition zod 4 keeps on every schema: its kind, what it wraps and its default. */
export interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  defaultValue?: unknown;
}

/** The definition of `schema` (zod 4 keeps it on `_zod.def`, which its public types do not declare). */
export function zodDef(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** Unwraps defaults, optionals, nullables and pipes to the object/record/array/value schema underneath. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = zodDef(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else break;
  }
  return current;
}
