/** Shared option checking for the small built-in table connectors (datagen, print, blackhole). */
import { z } from 'zod';
import { TributaryError } from '../../errors.js';
import type { ResolvedTable } from '../types.js';

/** Validates `table.options` (minus `connector`) with a strict zod schema; errors name the key. */
export function parseTableOptions<S extends z.ZodType>(
  schema: S,
  table: ResolvedTable,
): z.output<S> {
  const { connector: _connector, ...rest } = table.options;
  const result = schema.safeParse(rest);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const key =
      i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(options)');
    return `'${key}': ${i.message}`;
  });
  throw new TributaryError(
    'CONFIG_INVALID',
    `table '${table.name}' (connector '${table.options['connector']}'): ${issues.join('; ')}`,
    { details: { issues } },
  );
}

/** A non-negative integer given as a string option. */
export const intOption = z
  .string()
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'too large');
