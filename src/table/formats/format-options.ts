/**
 * Reading a format's own `<format>.*` options: typed, with Flink's defaults, each error a
 * CONFIG_INVALID naming the table and the key. Flink keys a format does not implement are refused
 * by name (not silently ignored).
 */
import { TributaryError } from '../../errors.js';
import type { FormatContext } from '../types.js';
import type { ConvertOptions, TimestampFormat } from '../types/values.js';

export function formatOptionError(ctx: FormatContext, key: string, why: string): TributaryError {
  return new TributaryError('CONFIG_INVALID', `table ${ctx.tableName}: option '${key}': ${why}`, {
    details: { table: ctx.tableName, key },
  });
}

export function boolOption(ctx: FormatContext, key: string, fallback: boolean): boolean {
  const v = ctx.options[key];
  if (v === undefined) return fallback;
  const t = v.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw formatOptionError(ctx, key, `expected true or false, got '${v}'`);
}

export function enumOption<const V extends string>(
  ctx: FormatContext,
  key: string,
  values: readonly V[],
  fallback: V,
): V {
  const v = ctx.options[key];
  if (v === undefined) return fallback;
  const found = values.find((x) => x.toLowerCase() === v.trim().toLowerCase());
  if (found === undefined) {
    throw formatOptionError(
      ctx,
      key,
      `expected one of ${values.map((x) => `'${x}'`).join(', ')}, got '${v}'`,
    );
  }
  return found;
}

/** A single character (Java's `\t` spelling accepted for a tab). */
export function charOption(
  ctx: FormatContext,
  key: string,
  fallback: string | undefined,
): string | undefined {
  const raw = ctx.options[key];
  if (raw === undefined) return fallback;
  const v = raw === '\\t' ? '\t' : raw;
  if ([...v].length !== 1)
    throw formatOptionError(ctx, key, `expected a single character, got '${raw}'`);
  return v;
}

/** Flink keys this format knows of but does not implement: refused by name. */
export function refuseUnimplemented(
  ctx: FormatContext,
  keys: readonly string[],
  what: string,
): void {
  for (const key of keys) {
    if (ctx.options[key] !== undefined) {
      throw formatOptionError(
        ctx,
        key,
        `is a Flink option that Tributary's ${what} format does not implement; remove it`,
      );
    }
  }
}

export function timestampOption(ctx: FormatContext, key: string): ConvertOptions {
  const timestampFormat: TimestampFormat = enumOption(
    ctx,
    key,
    ['SQL', 'ISO-8601'] as const,
    'SQL',
  );
  return { timestampFormat };
}

/** `err`'s message, for a DESERIALIZATION_FAILED of a format. */
export function decodeError(
  ctx: FormatContext,
  format: string,
  why: string,
  cause?: unknown,
): TributaryError {
  return new TributaryError(
    'DESERIALIZATION_FAILED',
    `table ${ctx.tableName}: ${format} event: ${why}`,
    { ...(cause !== undefined ? { cause } : {}), details: { table: ctx.tableName } },
  );
}
