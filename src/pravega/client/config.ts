import type { z } from 'zod';
import { TributaryError } from '../../errors.js';

/** Validates options with a zod schema; a bad value names its key and the reason. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${key}: ${issue.message}`;
  });
  throw new TributaryError('CONFIG_INVALID', `invalid ${what}: ${problems.join('; ')}`, {
    details: { issues: result.error.issues },
  });
}
