import { TributaryError } from '../errors.js';
import { checkStateValue, type StateValue } from '../checkpoint/state-codec.js';
import type { SectionTables, StateKind } from '../state/state-sections.js';
import { keyGroupOf, type Key } from './key-groups.js';

/** A single value per key. */
export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

/** A list per key. */
export interface ListState<T> {
  get(): readonly T[];
  add(value: T): void;
  update(values: readonly T[]): void;
  clear(): void;
}

/** A map per key. */
export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  remove(key: K): void;
  contains(key: K): boolean;
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  size(): number;
  clear(): void;
}

/**
 * One key's state in a table: its value, and the capture epoch in which it was last marked
 * changed. A table's map holds one entry per key; writes change the entry in place, so a write
 * costs one map lookup (none for the key just read) and marking the key changed costs a number
 * comparison instead of a set insert.
 *
 * A class, not an object literal: V8 pretenures a literal's allocation site once most of its
 * objects survive (every entry does); with the literal, the values written in the task's loop
 * went to the old generation as well (bench/state.ts at 10 k keys: +15 MB of old space between
 * scavenges, a major GC every ~0.5 s, RSS 280 instead of 180 MiB). `new` has no allocation site.
 */
class Entry {
  /** the epoch in which the key was last put into its table's `dirty` list (-1: never) */
  epoch = -1;
  constructor(
    readonly key: Key,
    /** the key's state, or `ABSENT`: cleared, with the delete not yet captured */
    public value: unknown,
  ) {}
}

/** The value of an entry whose state was cleared; the entry stays until the delete is captured. */
const ABSENT: unique symbol = Symbol('absent');

interface Table {
  readonly kind: StateKind;
  readonly data: Map<Key, Entry>;
  handle: unknown;
  /** entries changed since the last capture (each once), when changes are tracked */
  dirty: Entry[] | undefined;
  /** the key last looked up and its entry (in `data`): reading then writing it costs one lookup */
  lastKey: Key | undefined;
  last: Entry | undefined;
}

/** Keys changed per state table (to be carried by the next capture again). */
export type ChangedKeys = ReadonlyMap<string, readonly Key[]>;

/** A key group's state in a full snapshot: per table its kind and `[key, value]` entries. */
export type KeyedStateSnapshot = Record<string, { kind: StateKind; entries: [Key, unknown][] }>;

/**
 * Keyed state of one operator subtask, where it lives while the job runs (the job's
 * `state.backend`): `HeapKeyedStateBackend` below, or the disk backend in `src/state/disk/`.
 * Checkpoints take either its changes (`captureChanges`, for incremental snapshots) or all of it
 * (`snapshot`).
 */
export interface KeyedStateBackend {
  setCurrentKey(key: Key): void;
  readonly currentKey: Key;
  valueState<T>(name: string): ValueState<T>;
  listState<T>(name: string): ListState<T>;
  mapState<K, V>(name: string): MapState<K, V>;
  /** From now on remember which keys change (for incremental snapshots). */
  trackChanges(): void;
  /** Marks keys as changed again (their last captured changes were not written). */
  markChanged(changed: ChangedKeys): void;
  /**
   * The changes since the previous capture, per key group: the current state of every changed
   * key (a delete where it has none left), checked against the `StateValue` rules; cost ∝ changed
   * keys. Values must be encoded before the task goes on.
   */
  captureChanges(): { changed: ChangedKeys; groups: Map<number, SectionTables> };
  /** Applies a section (full state or changes) read from a checkpoint. */
  applySection(section: SectionTables): void;
  /** Number of keys with some state (all tables). */
  keyCount(): number;
  /** All state grouped by key group (full snapshots). */
  snapshot(): Map<number, KeyedStateSnapshot>;
  /** Loads one key group's full snapshot (decoded); its keys count as changed when tracking. */
  restoreKeyGroup(state: StateValue): void;
  /**
   * Removes all state of the key groups `groups` (they left this subtask, or are about to be
   * loaded anew). Not a change: uncaptured changes of their keys are forgotten, the next capture
   * says nothing about them. Cost ∝ the keys of those groups (disk) or all keys (heap).
   */
  dropKeyGroups(groups: ReadonlySet<number>): void;
  /** Writes the task must wait for before its next input (backpressure), or undefined. */
  pendingWork?(): Promise<void> | undefined;
  /** Releases what the backend holds (files, handles); the heap backend has nothing to release. */
  close?(): Promise<void>;
}

/**
 * Heap keyed state of one operator subtask: named tables of value, list or map state, each a map
 * from the current key to its value. Handles read the key set by `setCurrentKey`. Values are
 * stored by reference and deep-copied (encoded) at snapshot time; they must follow the
 * `StateValue` rules.
 */
export class HeapKeyedStateBackend implements KeyedStateBackend {
  private key: Key | undefined;
  private readonly tables = new Map<string, Table>();
  /** Whether tables remember changed keys (for incremental snapshots). */
  private tracking = false;
  /** counts captures: an entry whose `epoch` is this one is already in its table's `dirty` */
  private epoch = 0;

  constructor(private readonly maxParallelism: number) {}

  setCurrentKey(key: Key): void {
    this.key = key;
  }

  get currentKey(): Key {
    if (this.key === undefined)
      throw new TributaryError('ILLEGAL_STATE', 'keyed state used outside a keyed context');
    return this.key;
  }

  valueState<T>(name: string): ValueState<T> {
    const table = this.table(name, 'value');
    return (table.handle ??= {
      value: () => this.read(table) as T | undefined,
      update: (value: T) => this.write(table, value),
      clear: () => this.remove(table),
    } satisfies ValueState<T>) as ValueState<T>;
  }

  listState<T>(name: string): ListState<T> {
    const table = this.table(name, 'list');
    return (table.handle ??= {
      get: () => (this.read(table) as T[] | undefined) ?? [],
      add: (value: T) => {
        const values = this.read(table) as T[] | undefined;
        if (values === undefined) {
          this.write(table, [value]);
        } else {
          values.push(value);
          this.write(table, values);
        }
      },
      update: (values: readonly T[]) => this.write(table, [...values]),
      clear: () => this.remove(table),
    } satisfies ListState<T>) as ListState<T>;
  }

  mapState<K, V>(name: string): MapState<K, V> {
    const table = this.table(name, 'map');
    const map = (): Map<K, V> | undefined => this.read(table) as Map<K, V> | undefined;
    const empty = new Map<K, V>();
    return (table.handle ??= {
      get: (k: K) => map()?.get(k),
      put: (k: K, v: V) => {
        const m = map() ?? new Map<K, V>();
        m.set(k, v);
        this.write(table, m);
      },
      remove: (k: K) => {
        const m = map();
        if (m === undefined) return;
        m.delete(k);
        if (m.size === 0) this.remove(table);
        else this.write(table, m);
      },
      contains: (k: K) => map()?.has(k) ?? false,
      entries: () => (map() ?? empty).entries(),
      keys: () => (map() ?? empty).keys(),
      values: () => (map() ?? empty).values(),
      size: () => map()?.size ?? 0,
      clear: () => this.remove(table),
    } satisfies MapState<K, V>) as MapState<K, V>;
  }

  /** The entry of `key` in `table` (the last one looked up is kept: no second lookup). */
  private entry(table: Table, key: Key): Entry | undefined {
    if (table.lastKey === key && table.last !== undefined) return table.last;
    const entry = table.data.get(key);
    if (entry !== undefined) {
      table.lastKey = key;
      table.last = entry;
    }
    return entry;
  }

  /** The current key's state in `table`. */
  private read(table: Table): unknown {
    const value = this.entry(table, this.currentKey)?.value;
    return value === ABSENT ? undefined : value;
  }

  /** Sets the current key's state in `table` (remembered as changed when tracking). */
  private write(table: Table, value: unknown): void {
    const key = this.currentKey;
    let entry = this.entry(table, key);
    if (entry === undefined) {
      entry = new Entry(key, value);
      table.data.set(key, entry);
      table.lastKey = key;
      table.last = entry;
    } else {
      entry.value = value;
    }
    this.changed(table, entry);
  }

  /**
   * Clears the current key's state in `table`. When tracking, the entry stays (`ABSENT`) until
   * the delete is captured (like every clear, one of a key without state is captured too).
   */
  private remove(table: Table): void {
    const key = this.currentKey;
    const entry = this.entry(table, key);
    if (table.dirty === undefined) {
      if (entry !== undefined) this.drop(table, entry);
    } else if (entry === undefined) {
      const created = new Entry(key, ABSENT);
      table.data.set(key, created);
      this.changed(table, created);
    } else {
      entry.value = ABSENT;
      this.changed(table, entry);
    }
  }

  /** Takes `entry` out of its table's map. */
  private drop(table: Table, entry: Entry): void {
    if (table.data.get(entry.key) === entry) table.data.delete(entry.key);
    if (table.last === entry) {
      table.last = undefined;
      table.lastKey = undefined;
    }
  }

  /** Remembers `entry` as changed since the last capture, when tracking (once per capture). */
  private changed(table: Table, entry: Entry): void {
    if (table.dirty !== undefined && entry.epoch !== this.epoch) {
      entry.epoch = this.epoch;
      table.dirty.push(entry);
    }
  }

  /** From now on remember which keys change (for incremental snapshots). */
  trackChanges(): void {
    this.tracking = true;
    for (const table of this.tables.values()) table.dirty ??= [];
  }

  /** Marks keys as changed again (their last captured changes were not written). */
  markChanged(changed: ChangedKeys): void {
    for (const [name, keys] of changed) {
      const table = this.tables.get(name);
      if (table?.dirty === undefined) continue;
      for (const key of keys) {
        let entry = table.data.get(key);
        if (entry === undefined) {
          // its delete was captured (and the entry dropped): it is a delete again
          entry = new Entry(key, ABSENT);
          table.data.set(key, entry);
        }
        this.changed(table, entry);
      }
    }
  }

  /**
   * The changes since the previous capture, per key group: the current state of every changed
   * key (a delete where it has none left), checked against the `StateValue` rules. Costs in
   * proportion to the changed keys, not to the whole state. Values must then be encoded before
   * the task goes on (they are live references). If a value breaks the rules nothing is taken:
   * every change stays to be captured.
   */
  captureChanges(): { changed: ChangedKeys; groups: Map<number, SectionTables> } {
    const changed = new Map<string, Key[]>();
    const groups = new Map<number, SectionTables>();
    // per key group, indexed by it: its tables, and this table's entry (no map lookups per key)
    const byGroup = new Array<SectionTables | undefined>(this.maxParallelism);
    const taken: [Table, Entry[]][] = [];
    for (const [name, table] of this.tables) {
      const dirty = table.dirty;
      if (dirty === undefined || dirty.length === 0) continue;
      taken.push([table, dirty]);
      const keys = new Array<Key>(dirty.length);
      changed.set(name, keys);
      const kind = table.kind;
      const entries = new Array<[StateKind, unknown[], Key[]] | undefined>(this.maxParallelism);
      for (let i = 0; i < dirty.length; i++) {
        const { key, value } = dirty[i] as Entry;
        keys[i] = key;
        const group = keyGroupOf(key, this.maxParallelism);
        let entry = entries[group];
        if (entry === undefined) {
          let tables = byGroup[group];
          if (tables === undefined) groups.set(group, (byGroup[group] = tables = {}));
          entry = entries[group] = tables[name] = [kind, [], []];
        }
        if (value === ABSENT) {
          entry[2].push(key);
        } else {
          checkStateValue(value);
          entry[1].push(key, value);
        }
      }
    }
    // every value passed: the changes are taken, captured deletes leave the maps
    for (const [table, dirty] of taken) {
      table.dirty = [];
      for (const entry of dirty) if (entry.value === ABSENT) this.drop(table, entry);
    }
    this.epoch++;
    return { changed, groups };
  }

  /** Applies a section (full state or changes) read from a checkpoint. */
  applySection(section: SectionTables): void {
    for (const [name, [kind, puts, deletes]] of Object.entries(section)) {
      const table = this.table(name, kind);
      for (const key of deletes) {
        const entry = table.data.get(key);
        if (entry === undefined) continue;
        this.drop(table, entry);
        entry.value = ABSENT; // should it still be listed as changed, it is a delete
      }
      for (let i = 0; i < puts.length; i += 2) this.set(table, puts[i] as Key, puts[i + 1]);
    }
  }

  /** Sets `key`'s state in `table` without marking it changed. */
  private set(table: Table, key: Key, value: unknown): Entry {
    const entry = table.data.get(key);
    if (entry !== undefined) {
      entry.value = value;
      return entry;
    }
    const created = new Entry(key, value);
    table.data.set(key, created);
    return created;
  }

  /** Number of keys with some state (all tables). */
  keyCount(): number {
    const keys = new Set<Key>();
    for (const table of this.tables.values())
      for (const [k, { value }] of table.data) if (value !== ABSENT) keys.add(k);
    return keys.size;
  }

  /** State grouped by key group: `{ [table]: { kind, entries: [[key, value], …] } }`. */
  snapshot(): Map<number, Record<string, { kind: StateKind; entries: [Key, unknown][] }>> {
    const groups = new Map<
      number,
      Record<string, { kind: StateKind; entries: [Key, unknown][] }>
    >();
    for (const [name, table] of this.tables) {
      for (const [key, { value }] of table.data) {
        if (value === ABSENT) continue;
        const group = keyGroupOf(key, this.maxParallelism);
        let tables = groups.get(group);
        if (tables === undefined) groups.set(group, (tables = {}));
        (tables[name] ??= { kind: table.kind, entries: [] }).entries.push([key, value]);
      }
    }
    return groups;
  }

  /** Loads one key group's snapshot (decoded); its keys count as changed when tracking. */
  restoreKeyGroup(state: StateValue): void {
    const tables = state as Record<string, { kind: StateKind; entries: [Key, unknown][] }>;
    for (const [name, { kind, entries }] of Object.entries(tables)) {
      const table = this.table(name, kind);
      for (const [key, value] of entries) this.changed(table, this.set(table, key, value));
    }
  }

  dropKeyGroups(groups: ReadonlySet<number>): void {
    if (groups.size === 0) return;
    const inGroups = (key: Key): boolean => groups.has(keyGroupOf(key, this.maxParallelism));
    for (const table of this.tables.values()) {
      for (const entry of table.data.values()) if (inGroups(entry.key)) this.drop(table, entry);
      if (table.dirty !== undefined) table.dirty = table.dirty.filter((e) => !inGroups(e.key));
    }
  }

  private table(name: string, kind: StateKind): Table {
    let table = this.tables.get(name);
    if (table === undefined) {
      table = {
        kind,
        data: new Map(),
        handle: undefined,
        dirty: this.tracking ? [] : undefined,
        lastKey: undefined,
        last: undefined,
      };
      this.tables.set(name, table);
    } else if (table.kind !== kind) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `state "${name}" is ${table.kind} state and cannot be used as ${kind} state`,
      );
    }
    return table;
  }
}
