import { parseConfig } from '../../config.js';
import { TributaryError } from '../../errors.js';
import { StreamConfigSchema } from '../controller/stream-config.js';
import type { StreamConfig, StreamCutPositions, StreamId } from '../controller/types.js';
import type { Serializer } from './serializer.js';

/**
 * Checks of the arguments of the client's public entry points, done before anything is sent: a
 * wrong type is ILLEGAL_ARGUMENT, a name against Pravega's rules (NameUtils: 1-255 characters for a
 * scope, 1-250 for a stream, reader group or reader, of A-Z a-z 0-9 . -) is INVALID_NAME, a bad
 * configuration object is CONFIG_INVALID. Every message starts with the entry point and names the
 * argument and the rule.
 */

export type NameKind = 'scope' | 'stream' | 'reader group' | 'reader' | 'checkpoint';

const NAME_RE = /^[A-Za-z0-9.-]+$/;

export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function illegal(where: string, arg: string, rule: string, value: unknown): TributaryError {
  return new TributaryError(
    'ILLEGAL_ARGUMENT',
    `${where}: ${arg} ${rule}, got ${describeValue(value)}`,
    {
      details: { argument: arg },
    },
  );
}

/** A scope, stream, reader group or reader name, per Pravega's rules. */
export function checkName(where: string, arg: string, kind: NameKind, value: unknown): string {
  if (typeof value !== 'string')
    throw illegal(where, arg, `must be a ${kind} name (a string)`, value);
  const max = kind === 'scope' ? 255 : 250;
  if (value.length === 0 || value.length > max || !NAME_RE.test(value)) {
    const why =
      value.length === 0
        ? 'is empty'
        : value.length > max
          ? `is ${value.length} characters long`
          : 'has a character other than A-Z a-z 0-9 . -';
    throw new TributaryError(
      'INVALID_NAME',
      `${where}: ${arg} ${describeValue(value)} is not a valid ${kind} name: it ${why}; use 1-${max} characters of A-Z a-z 0-9 . -`,
      { details: { argument: arg, kind } },
    );
  }
  return value;
}

/** `'scope/stream'` or `{ scope, stream }`, both names valid. */
export function checkStream(where: string, value: unknown, arg = 'stream'): StreamId {
  if (typeof value === 'string') {
    const parts = value.split('/');
    if (parts.length !== 2) {
      throw illegal(where, arg, "must be written 'scope/stream' (one '/')", value);
    }
    checkName(where, `${arg} (scope part)`, 'scope', parts[0]);
    checkName(where, `${arg} (stream part)`, 'stream', parts[1]);
    return { scope: parts[0]!, stream: parts[1]! };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const id = value as Partial<StreamId>;
    checkName(where, `${arg}.scope`, 'scope', id.scope);
    checkName(where, `${arg}.stream`, 'stream', id.stream);
    return { scope: id.scope!, stream: id.stream! };
  }
  throw illegal(where, arg, "must be 'scope/stream' or { scope, stream }", value);
}

export function checkStreamConfig(where: string, value: unknown, arg = 'config'): StreamConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${where}: ${arg} must be a stream configuration such as { scalingPolicy: { type: 'fixed', minSegments: 1 } }, got ${describeValue(value)}`,
      { details: { argument: arg } },
    );
  }
  parseConfig(StreamConfigSchema, value, `${where} ${arg}`);
  return value as StreamConfig;
}

export function checkSerializer<T>(
  where: string,
  value: unknown,
  arg = 'serializer',
): Serializer<T> {
  const s = value as Partial<Serializer<T>> | null | undefined;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.serialize !== 'function' ||
    typeof s.deserialize !== 'function'
  ) {
    throw illegal(
      where,
      arg,
      'must be a serializer with serialize(value) and deserialize(bytes) (e.g. utf8Serializer, jsonSerializer())',
      value,
    );
  }
  return value as Serializer<T>;
}

/**
 * An options argument: a plain object (its keys are checked by its own schema), or undefined when
 * it is not `required`.
 */
export function checkOptions(
  where: string,
  value: unknown,
  arg = 'options',
  required = false,
): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${where}: ${arg} must be an object, got ${describeValue(value)}`,
      {
        details: { argument: arg },
      },
    );
  }
}

/** Stream cut positions: a Map of segment id → offset, both non-negative bigints. */
export function checkPositions(
  where: string,
  value: unknown,
  arg: string,
): StreamCutPositions | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Map))
    throw illegal(where, arg, 'must be a Map of segment id → offset', value);
  for (const [segment, offset] of value as Map<unknown, unknown>) {
    if (typeof segment !== 'bigint' || segment < 0n || typeof offset !== 'bigint' || offset < 0n) {
      throw illegal(
        where,
        arg,
        'must map segment ids to offsets, both non-negative bigints',
        `${describeValue(segment)} → ${describeValue(offset)}`,
      );
    }
  }
  return value as StreamCutPositions;
}

export function checkTimeout(where: string, value: unknown, arg: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw illegal(where, arg, 'must be a whole number of milliseconds from 1 to 2147483647', value);
  }
  return value;
}
