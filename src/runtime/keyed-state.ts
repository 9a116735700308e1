import { TributaryError } from '../errors.js';
import { checkStateValue, type StateValue } from '../checkpoint/state-codec.js';
import type { SectionTables, StateKind } from '../state/state-sections.js';
import { keyGroupOf, type Key } from './key-groups.js';
import { KeyIndex } from './key-index.js';

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

/** The value of a key whose state was cleared, with the delete not yet captured; of a free slot. */
const ABSENT: unique symbol = Symbol('absent');

/** The capture epoch of a free slot. */
const FREE = -2;

/** Slots of a new table's columns. */
const INITIAL_SLOTS = 64;

/**
 * One state table: per key a slot in columns (key, value, capture epoch) and a `KeyIndex` from
 * key to slot. No object per key: a write costs one index lookup (none for the key just read),
 * marking the key changed a number comparison, and the GC scans two arrays instead of an entry
 * object per key. Slots of keys whose state is gone are reused.
 */
interface Table {
  readonly kind: StateKind;
  readonly index: KeyIndex;
  /** per slot: its key (0 when free) */
  readonly keys: Key[];
  /** per slot: the key's state, or `ABSENT` (cleared, the delete not yet captured; or free) */
  readonly values: unknown[];
  /** per slot: the epoch in which the key was last put into `dirty` (-1: never; `FREE`) */
  epochs: Int32Array;
  /** slots to reuse */
  readonly free: number[];
  handle: unknown;
  /** slots changed since the last capture (each once), when changes are tracked */
  dirty: number[] | undefined;
  /** the key last looked up and its slot (-1: absent): reading then writing it costs one lookup */
  lastKey: Key | undefined;
  lastSlot: number;
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
  /** counts captures: a slot whose epoch is this one is already in its table's `dirty` */
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

  /** The slot of `key` in `table`, or -1 (the last key looked up is kept: no second lookup). */
  private slotOf(table: Table, key: Key): number {
    if (table.lastKey === key) return table.lastSlot;
    const slot = table.index.get(key);
    table.lastKey = key;
    table.lastSlot = slot;
    return slot;
  }

  /** The current key's state in `table`. */
  private read(table: Table): unknown {
    const slot = this.slotOf(table, this.currentKey);
    if (slot < 0) return undefined;
    const value = table.values[slot];
    return value === ABSENT ? undefined : value;
  }

  /** Sets the current key's state in `table` (remembered as changed when tracking). */
  private write(table: Table, value: unknown): void {
    const key = this.currentKey;
    let slot = this.slotOf(table, key);
    if (slot < 0) slot = this.insert(table, key, value);
    else table.values[slot] = value;
    this.changed(table, slot);
  }

  /**
   * Clears the current key's state in `table`. When tracking, the slot stays (`ABSENT`) until
   * the delete is captured (like every clear, one of a key without state is captured too).
   */
  private remove(table: Table): void {
    const key = this.currentKey;
    const slot = this.slotOf(table, key);
    if (table.dirty === undefined) {
      if (slot >= 0) this.drop(table, slot);
    } else if (slot < 0) {
      this.changed(table, this.insert(table, key, ABSENT));
    } else {
      table.values[slot] = ABSENT;
      this.changed(table, slot);
    }
  }

  /** Gives `key` a slot in `table` holding `value`. */
  private insert(table: Table, key: Key, value: unknown): number {
    let slot = table.free.pop();
    if (slot === undefined) {
      slot = table.keys.length;
      table.keys.push(key);
      table.values.push(value);
      if (slot === table.epochs.length) {
        const epochs = new Int32Array(2 * slot);
        epochs.set(table.epochs);
        table.epochs = epochs;
      }
    } else {
      table.keys[slot] = key;
      table.values[slot] = value;
    }
    table.epochs[slot] = -1;
    table.index.set(key, slot);
    table.lastKey = key;
    table.lastSlot = slot;
    return slot;
  }

  /**
   * Takes the key of `slot` out of its table. A slot still waiting to be captured stays, as a
   * delete (`ABSENT`): the capture frees it.
   */
  private drop(table: Table, slot: number): void {
    table.values[slot] = ABSENT;
    if (table.dirty !== undefined && table.epochs[slot] === this.epoch) return;
    const key = table.keys[slot] as Key;
    table.index.delete(key);
    table.keys[slot] = 0;
    table.epochs[slot] = FREE;
    table.free.push(slot);
    if (table.lastKey === key) {
      table.lastKey = undefined;
      table.lastSlot = -1;
    }
  }

  /** Remembers `slot` as changed since the last capture, when tracking (once per capture). */
  private changed(table: Table, slot: number): void {
    if (table.dirty !== undefined && table.epochs[slot] !== this.epoch) {
      table.epochs[slot] = this.epoch;
      table.dirty.push(slot);
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
        let slot = table.index.get(key);
        // its delete was captured (and the slot freed): it is a delete again
        if (slot < 0) slot = this.insert(table, key, ABSENT);
        this.changed(table, slot);
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
    const taken: [Table, number[]][] = [];
    for (const [name, table] of this.tables) {
      const dirty = table.dirty;
      if (dirty === undefined || dirty.length === 0) continue;
      taken.push([table, dirty]);
      const keys = new Array<Key>(dirty.length);
      changed.set(name, keys);
      const kind = table.kind;
      const entries = new Array<[StateKind, unknown[], Key[]] | undefined>(this.maxParallelism);
      for (let i = 0; i < dirty.length; i++) {
        const slot = dirty[i] as number;
        const key = table.keys[slot] as Key;
        const value = table.values[slot];
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
    // every value passed: the changes are taken, captured deletes leave the tables
    this.epoch++;
    for (const [table, dirty] of taken) {
      table.dirty = [];
      for (const slot of dirty) if (table.values[slot] === ABSENT) this.drop(table, slot);
    }
    return { changed, groups };
  }

  /** Applies a section (full state or changes) read from a checkpoint. */
  applySection(section: SectionTables): void {
    for (const [name, [kind, puts, deletes]] of Object.entries(section)) {
      const table = this.table(name, kind);
      for (const key of deletes) {
        const slot = table.index.get(key);
        if (slot >= 0) this.drop(table, slot);
      }
      for (let i = 0; i < puts.length; i += 2) this.set(table, puts[i] as Key, puts[i + 1]);
    }
  }

  /** Sets `key`'s state in `table` without marking it changed; its slot. */
  private set(table: Table, key: Key, value: unknown): number {
    const slot = table.index.get(key);
    if (slot < 0) return this.insert(table, key, value);
    table.values[slot] = value;
    return slot;
  }

  /** Number of keys with some state (all tables). */
  keyCount(): number {
    const keys = new Set<Key>();
    for (const { keys: slotKeys, values } of this.tables.values())
      for (let slot = 0; slot < values.length; slot++)
        if (values[slot] !== ABSENT) keys.add(slotKeys[slot] as Key);
    return keys.size;
  }

  /** State grouped by key group: `{ [table]: { kind, entries: [[key, value], …] } }`. */
  snapshot(): Map<number, Record<string, { kind: StateKind; entries: [Key, unknown][] }>> {
    const groups = new Map<
      number,
      Record<string, { kind: StateKind; entries: [Key, unknown][] }>
    >();
    for (const [name, table] of this.tables) {
      const { keys, values } = table;
      for (let slot = 0; slot < values.length; slot++) {
        const value = values[slot];
        if (value === ABSENT) continue;
        const key = keys[slot] as Key;
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
    for (const table of this.tables.values()) {
      const { keys, epochs } = table;
      for (let slot = 0; slot < keys.length; slot++) {
        if (
          epochs[slot] === FREE ||
          !groups.has(keyGroupOf(keys[slot] as Key, this.maxParallelism))
        )
          continue;
        epochs[slot] = -1; // not a change: an uncaptured one is forgotten, the slot freed
        this.drop(table, slot);
      }
      if (table.dirty !== undefined)
        table.dirty = table.dirty.filter((s) => epochs[s] === this.epoch);
    }
  }

  private table(name: string, kind: StateKind): Table {
    let table = this.tables.get(name);
    if (table === undefined) {
      table = {
        kind,
        index: new KeyIndex(),
        keys: [],
        values: [],
        epochs: new Int32Array(INITIAL_SLOTS),
        free: [],
        handle: undefined,
        dirty: this.tracking ? [] : undefined,
        lastKey: undefined,
        lastSlot: -1,
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
