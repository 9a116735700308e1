import { TributaryError } from '../errors.js';

/**
 * Values that checkpointed state may hold. The rule, for every operator, reader, enumerator and
 * sink: state is built from JSON values plus `bigint`, `Buffer`/`Uint8Array`, `Map`, `Set`,
 * `Date`, `undefined` and non-finite numbers. Plain objects only (no class instances, functions
 * or symbols). Cycles are rejected. Everything else fails the snapshot with an error naming the
 * path of the offending value.
 */
export type StateValue =
  | null
  | undefined
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | Date
  | readonly StateValue[]
  | ReadonlyMap<StateValue, StateValue>
  | ReadonlySet<StateValue>
  | { readonly [key: string]: StateValue };

/** The encoded form: plain JSON, safe to `JSON.stringify`. */
export type EncodedState =
  null | boolean | number | string | EncodedState[] | { [key: string]: EncodedState };

const TAG = '$t';

/**
 * Turns a state value into plain JSON (a deep copy). Tagged objects `{"$t": kind, "v": ...}`
 * carry the types JSON lacks; a plain object that itself has a `$t` key is wrapped as
 * `{"$t":"object","v":{...}}`, so decoding is unambiguous.
 */
export function encodeState(value: unknown): EncodedState {
  return encodeAt(value, '$', new Set());
}

function encodeAt(value: unknown, path: string, seen: Set<object>): EncodedState {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { [TAG]: 'number', v: String(value) };
    case 'bigint':
      return { [TAG]: 'bigint', v: value.toString() };
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'object':
      break;
    default:
      throw notSerialisable(path, typeof value);
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) {
    return {
      [TAG]: 'bytes',
      v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
    };
  }
  if (value instanceof Date) return { [TAG]: 'date', v: value.toISOString() };
  if (seen.has(value)) throw notSerialisable(path, 'a cycle');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item: unknown, i) => encodeAt(item, `${path}[${i}]`, seen));
    }
    if (value instanceof Map) {
      const entries: EncodedState[] = [];
      let i = 0;
      for (const [k, v] of value as Map<unknown, unknown>) {
        entries.push([
          encodeAt(k, `${path}<key ${i}>`, seen),
          encodeAt(v, `${path}<value ${i}>`, seen),
        ]);
        i++;
      }
      return { [TAG]: 'map', v: entries };
    }
    if (value instanceof Set) {
      const items: EncodedState[] = [];
      let i = 0;
      for (const item of value as Set<unknown>)
        items.push(encodeAt(item, `${path}<item ${i++}>`, seen));
      return { [TAG]: 'set', v: items };
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      throw notSerialisable(path, `an instance of class ${name}`);
    }
    const out: { [key: string]: EncodedState } = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[k] = encodeAt(v, `${path}.${k}`, seen);
    }
    return TAG in out ? { [TAG]: 'object', v: out } : out;
  } finally {
    seen.delete(value);
  }
}

/**
 * Checks that a value follows the `StateValue` rules without copying it (the binary state codec
 * encodes the value itself); throws the same error as {@link encodeState}, naming the path.
 */
export function checkStateValue(value: unknown): void {
  if (typeof value === 'object' && value !== null) {
    // fast walk without paths (called for every changed key at a checkpoint); the slow one only
    // to name the path of what it refused
    if (!isStateValue(value, 0)) checkAt(value, '$', new Set());
  } else if (typeof value === 'function' || typeof value === 'symbol')
    throw notSerialisable('$', typeof value);
}

/** Depth beyond which a value is taken for a cycle (checked, with paths, by `checkAt`). */
const MAX_FAST_DEPTH = 64;

function isStateValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
    case 'undefined':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null || value instanceof Uint8Array || value instanceof Date) return true;
  if (depth >= MAX_FAST_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isStateValue(value[i], depth + 1)) return false;
    return true;
  }
  if (value instanceof Map) {
    for (const [k, v] of value as Map<unknown, unknown>)
      if (!isStateValue(k, depth + 1) || !isStateValue(v, depth + 1)) return false;
    return true;
  }
  if (value instanceof Set) {
    for (const item of value as Set<unknown>) if (!isStateValue(item, depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value)
    if (!isStateValue((value as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

function checkAt(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
    case 'undefined':
      return;
    case 'object':
      break;
    default:
      throw notSerialisable(path, typeof value);
  }
  if (value === null || value instanceof Uint8Array || value instanceof Date) return;
  if (seen.has(value)) throw notSerialisable(path, 'a cycle');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      value.forEach((item: unknown, i) => checkAt(item, `${path}[${i}]`, seen));
    } else if (value instanceof Map) {
      let i = 0;
      for (const [k, v] of value as Map<unknown, unknown>) {
        checkAt(k, `${path}<key ${i}>`, seen);
        checkAt(v, `${path}<value ${i++}>`, seen);
      }
    } else if (value instanceof Set) {
      let i = 0;
      for (const item of value as Set<unknown>) checkAt(item, `${path}<item ${i++}>`, seen);
    } else {
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
        throw notSerialisable(path, `an instance of class ${name}`);
      }
      for (const k in value) checkAt((value as Record<string, unknown>)[k], `${path}.${k}`, seen);
    }
  } finally {
    seen.delete(value);
  }
}

/** Inverse of {@link encodeState}. Throws STATE_CORRUPT on anything it did not produce. */
export function decodeState(encoded: unknown): StateValue {
  return decodeAt(encoded, '$');
}

function decodeAt(value: unknown, path: string): StateValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map((item: unknown, i) => decodeAt(item, `${path}[${i}]`));
  if (typeof value !== 'object') throw corrupt(path, `unexpected ${typeof value}`);
  const obj = value as Record<string, unknown>;
  if (!(TAG in obj)) {
    const out: Record<string, StateValue> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = decodeAt(v, `${path}.${k}`);
    return out;
  }
  const v = obj['v'];
  switch (obj[TAG]) {
    case 'undefined':
      return undefined;
    case 'number':
      return Number(expectString(v, path));
    case 'bigint':
      return BigInt(expectString(v, path));
    case 'bytes':
      return Buffer.from(expectString(v, path), 'base64');
    case 'date':
      return new Date(expectString(v, path));
    case 'map': {
      const entries = expectArray(v, path);
      const map = new Map<StateValue, StateValue>();
      entries.forEach((entry, i) => {
        const pair = expectArray(entry, `${path}<entry ${i}>`);
        map.set(decodeAt(pair[0], `${path}<key ${i}>`), decodeAt(pair[1], `${path}<value ${i}>`));
      });
      return map;
    }
    case 'set':
      return new Set(expectArray(v, path).map((item, i) => decodeAt(item, `${path}<item ${i}>`)));
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw corrupt(path, 'bad wrapped object');
      const out: Record<string, StateValue> = {};
      for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
        out[k] = decodeAt(inner, `${path}.${k}`);
      }
      return out;
    }
    default:
      throw corrupt(path, `unknown tag ${JSON.stringify(obj[TAG])}`);
  }
}

/** `encodeState` then `JSON.stringify`. */
export function stringifyState(value: unknown): string {
  return JSON.stringify(encodeState(value));
}

/** `JSON.parse` then `decodeState`. */
export function parseState(text: string): StateValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TributaryError('STATE_CORRUPT', `state is not valid JSON: ${String(err)}`, {
      cause: err,
    });
  }
  return decodeState(parsed);
}

function expectString(v: unknown, path: string): string {
  if (typeof v !== 'string') throw corrupt(path, 'expected a string payload');
  return v;
}

function expectArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw corrupt(path, 'expected an array payload');
  return v;
}

function notSerialisable(path: string, what: string): TributaryError {
  return new TributaryError(
    'ILLEGAL_ARGUMENT',
    `state value at ${path} is not serialisable: ${what} (allowed: JSON values, bigint, Buffer/Uint8Array, Map, Set, Date, undefined)`,
    { details: { path } },
  );
}

function corrupt(path: string, why: string): TributaryError {
  return new TributaryError('STATE_CORRUPT', `encoded state at ${path} is corrupt: ${why}`, {
    details: { path },
  });
}
