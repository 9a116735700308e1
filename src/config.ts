import type { z } from 'zod';
import { TributaryError } from './errors.js';

/**
 * Validates `input` against a zod schema. On failure throws CONFIG_INVALID whose message names
 * every offending key (dotted path) and the reason, e.g.
 * `invalid job options: checkpoint.intervalMs: Too small: expected number to be >0`.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const key = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return { key, reason: issue.message };
  });
  const text = issues.map((i) => `${i.key}: ${i.reason}`).join('; ');
  throw new TributaryError('CONFIG_INVALID', `invalid ${what}: ${text}`, { details: { issues } });
}
