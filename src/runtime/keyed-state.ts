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

interface Table {
  readonly kind: StateKind;
  readonly data: Map<Key, unknown>;
  handle: unknown;
  /** keys written since the last capture, when changes are tracked */
  dirty: Set<Key> | undefined;
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
      value: () => table.data.get(this.currentKey) as T | undefined,
      update: (value: T) => void table.data.set(this.touch(table), value),
      clear: () => void table.data.delete(this.touch(table)),
    } satisfies ValueState<T>) as ValueState<T>;
  }

  listState<T>(name: string): ListState<T> {
    const table = this.table(name, 'list');
    const list = (create: boolean): T[] | undefined => {
      let values = table.data.get(this.currentKey) as T[] | undefined;
      if (values === undefined && create) table.data.set(this.currentKey, (values = []));
      return values;
    };
    return (table.handle ??= {
      get: () => list(false) ?? [],
      add: (value: T) => {
        list(true)?.push(value);
        this.touch(table);
      },
      update: (values: readonly T[]) => void table.data.set(this.touch(table), [...values]),
      clear: () => void table.data.delete(this.touch(table)),
    } satisfies ListState<T>) as ListState<T>;
  }

  mapState<K, V>(name: string): MapState<K, V> {
    const table = this.table(name, 'map');
    const map = (create: boolean): Map<K, V> | undefined => {
      let m = table.data.get(this.currentKey) as Map<K, V> | undefined;
      if (m === undefined && create) table.data.set(this.currentKey, (m = new Map()));
      return m;
    };
    const empty = new Map<K, V>();
    return (table.handle ??= {
      get: (k: K) => map(false)?.get(k),
      put: (k: K, v: V) => {
        map(true)?.set(k, v);
        this.touch(table);
      },
      remove: (k: K) => {
        const m = map(false);
        if (m === undefined) return;
        m.delete(k);
        this.touch(table);
        if (m.size === 0) table.data.delete(this.currentKey);
      },
      contains: (k: K) => map(false)?.has(k) ?? false,
      entries: () => (map(false) ?? empty).entries(),
      keys: () => (map(false) ?? empty).keys(),
      values: () => (map(false) ?? empty).values(),
      size: () => map(false)?.size ?? 0,
      clear: () => void table.data.delete(this.touch(table)),
    } satisfies MapState<K, V>) as MapState<K, V>;
  }

  /** The current key, remembered as changed in `table` when changes are tracked. */
  private touch(table: Table): Key {
    const key = this.currentKey;
    table.dirty?.add(key);
    return key;
  }

  /** From now on remember which keys change (for incremental snapshots). */
  trackChanges(): void {
    this.tracking = true;
    for (const table of this.tables.values()) table.dirty ??= new Set();
  }

  /** Marks keys as changed again (their last captured changes were not written). */
  markChanged(changed: ChangedKeys): void {
    for (const [name, keys] of changed) {
      const dirty = this.tables.get(name)?.dirty;
      if (dirty !== undefined) for (const key of keys) dirty.add(key);
    }
  }

  /**
   * The changes since the previous capture, per key group: the current state of every changed
   * key (a delete where it has none left), checked against the `StateValue` rules. Costs in
   * proportion to the changed keys, not to the whole state. Values must then be encoded before
   * the task goes on (they are live references).
   */
  captureChanges(): { changed: ChangedKeys; groups: Map<number, SectionTables> } {
    const changed = new Map<string, Key[]>();
    const groups = new Map<number, SectionTables>();
    // per key group, indexed by it: its tables, and this table's entry (no map lookups per key)
    const byGroup = new Array<SectionTables | undefined>(this.maxParallelism);
    for (const [name, table] of this.tables) {
      if (table.dirty === undefined || table.dirty.size === 0) continue;
      const keys = [...table.dirty];
      table.dirty.clear();
      changed.set(name, keys);
      const { data, kind } = table;
      const entries = new Array<[StateKind, unknown[], Key[]] | undefined>(this.maxParallelism);
      for (const key of keys) {
        const group = keyGroupOf(key, this.maxParallelism);
        let entry = entries[group];
        if (entry === undefined) {
          let tables = byGroup[group];
          if (tables === undefined) groups.set(group, (byGroup[group] = tables = {}));
          entry = entries[group] = tables[name] = [kind, [], []];
        }
        const value = data.get(key);
        if (value === undefined && !data.has(key)) {
          entry[2].push(key);
        } else {
          checkStateValue(value);
          entry[1].push(key, value);
        }
      }
    }
    return { changed, groups };
  }

  /** Applies a section (full state or changes) read from a checkpoint. */
  applySection(section: SectionTables): void {
    for (const [name, [kind, puts, deletes]] of Object.entries(section)) {
      const table = this.table(name, kind);
      for (const key of deletes) table.data.delete(key);
      for (let i = 0; i < puts.length; i += 2) table.data.set(puts[i] as Key, puts[i + 1]);
    }
  }

  /** Number of keys with some state (all tables). */
  keyCount(): number {
    const keys = new Set<Key>();
    for (const table of this.tables.values()) for (const k of table.data.keys()) keys.add(k);
    return keys.size;
  }

  /** State grouped by key group: `{ [table]: { kind, entries: [[key, value], …] } }`. */
  snapshot(): Map<number, Record<string, { kind: StateKind; entries: [Key, unknown][] }>> {
    const groups = new Map<
      number,
      Record<string, { kind: StateKind; entries: [Key, unknown][] }>
    >();
    for (const [name, table] of this.tables) {
      for (const [key, value] of table.data) {
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
      for (const [key, value] of entries) {
        table.data.set(key, value);
        table.dirty?.add(key);
      }
    }
  }

  private table(name: string, kind: StateKind): Table {
    let table = this.tables.get(name);
    if (table === undefined) {
      table = {
        kind,
        data: new Map(),
        handle: undefined,
        dirty: this.tracking ? new Set() : undefined,
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
