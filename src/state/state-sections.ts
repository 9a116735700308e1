import { Packr } from 'msgpackr';
import { TributaryError, errorMessage } from '../errors.js';
import type { Key } from '../runtime/key-groups.js';

export type StateKind = 'value' | 'list' | 'map';

/**
 * The table of a section that carries a keyed operator's timers (incremental checkpoints): not
 * user state, never applied to a state backend. User state cannot take the name.
 */
export const TIMERS_TABLE = '\u0000timers';

/** A user's state name, refused when it is one reserved for internal tables. */
export function checkUserStateName(name: string): string {
  if (name.startsWith('\u0000'))
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `state name ${JSON.stringify(name)} is reserved: names starting with "\\u0000" are internal`,
    );
  return name;
}

/**
 * One key group's state, or its changes, per state table: `[kind, puts, deletes]`, where `puts`
 * is flat (`key, value, key, value, …`) and `deletes` lists keys whose state was cleared. A full
 * section has no deletes.
 */
export type SectionTables = Record<string, [StateKind, unknown[], Key[]]>;

/**
 * The binary state codec: msgpack with records, so that plain objects, `Map`, `Set`, `Date`,
 * `bigint`, `Uint8Array`/`Buffer`, `undefined` and non-finite numbers come back as they went in.
 * Values are checked against the `StateValue` rules before they get here.
 */
const packr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  moreTypes: true,
  int64AsType: 'bigint',
});

export function packSection(tables: SectionTables): Buffer {
  return packr.pack(tables);
}

/** Decodes a section; `what` names it in the STATE_CORRUPT error. */
export function unpackSection(bytes: Uint8Array, what: string): SectionTables {
  let tables: unknown;
  try {
    tables = packr.unpack(bytes);
  } catch (err) {
    throw new TributaryError('STATE_CORRUPT', `${what} is corrupt: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables))
    throw new TributaryError('STATE_CORRUPT', `${what} is corrupt: not a state section`);
  for (const [name, table] of Object.entries(tables as Record<string, unknown>)) {
    if (
      !Array.isArray(table) ||
      table.length !== 3 ||
      !Array.isArray(table[1]) ||
      !Array.isArray(table[2])
    )
      throw new TributaryError('STATE_CORRUPT', `${what} is corrupt: table "${name}" is malformed`);
  }
  return tables as SectionTables;
}

const DELETED: unique symbol = Symbol('deleted');

/**
 * Folds sections (oldest first) into one: later puts win, deletes remove. Into a `full` section
 * (a whole key group's state: deletes are dropped) or a `delta` (changes of several increments as
 * one: a key whose last change is a delete stays a delete, the earlier base may still hold it).
 */
export function mergeSections(
  sections: readonly SectionTables[],
  into: 'full' | 'delta' = 'full',
): SectionTables {
  const merged = new Map<string, { kind: StateKind; values: Map<Key, unknown> }>();
  for (const section of sections) {
    for (const [name, [kind, puts, deletes]] of Object.entries(section)) {
      let table = merged.get(name);
      if (table === undefined) merged.set(name, (table = { kind, values: new Map() }));
      const values = table.values;
      if (into === 'full') for (const key of deletes) values.delete(key);
      else for (const key of deletes) values.set(key, DELETED);
      for (let i = 0; i < puts.length; i += 2) values.set(puts[i] as Key, puts[i + 1]);
    }
  }
  const out: SectionTables = {};
  for (const [name, { kind, values }] of merged) {
    const puts: unknown[] = [];
    const deletes: Key[] = [];
    for (const [k, v] of values) {
      if (v === DELETED) deletes.push(k);
      else puts.push(k, v);
    }
    out[name] = [kind, puts, deletes];
  }
  return out;
}
