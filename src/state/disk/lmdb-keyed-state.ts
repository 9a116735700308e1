import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { TributaryError, errorMessage } from '../../errors.js';
import { checkStateValue, type StateValue } from '../../checkpoint/state-codec.js';
import { hashKey, keyText, type Key } from '../../runtime/key-groups.js';
import type {
  ChangedKeys,
  KeyedStateBackend,
  KeyedStateSnapshot,
  ListState,
  MapState,
  ValueState,
} from '../../runtime/keyed-state.js';
import type { SectionTables, StateKind } from '../state-sections.js';
import { KeyFilter } from './key-filter.js';
import {
  STATE_VALUE_ENCODER,
  checkStoredKey,
  decodeStoredKey,
  encodeStoredKey,
} from './stored-entries.js';

/** The state of a key that was cleared, or that LMDB does not have. */
const DELETED: unique symbol = Symbol('deleted');
/** An `undefined` state value in memory. */
const UNDEFINED: unique symbol = Symbol('undefined');

/**
 * A key's state held in memory: written and not yet in LMDB, or cached. One slot per key and
 * table, so that a read, a write and a capture each look the key up once.
 */
class Slot {
  /** the generation the slot was last read or written in */
  generation: number;
  /** written since the last flush (it is in its table's `writes`) */
  unflushed = false;
  /** the capture epoch it was last marked changed in (in its table's `changed` when current) */
  changedIn = -1;

  constructor(
    readonly key: Key,
    readonly group: number,
    /** the newest state: a value, `UNDEFINED` or `DELETED` */
    public value: unknown,
    generation: number,
  ) {
    this.generation = generation;
  }
}

/** A generation of a table's slots: those read or written between two flushes. */
interface Generation {
  readonly id: number;
  readonly slots: Slot[];
}

interface DiskTable {
  readonly name: string;
  readonly id: number;
  readonly kind: StateKind;
  handle: unknown;
  /** the keys held in memory */
  readonly slots: Map<Key, Slot>;
  /**
   * The keys ever held in a slot (so LMDB may have them): a read of another needs no LMDB
   * lookup. Every key held gets in, also one only read (it may be written later, after a read).
   */
  readonly held: KeyFilter;
  /** slots written since the last flush: the next flush hands them to LMDB */
  writes: Slot[];
  /** slots read or written since the last flush (the open generation) */
  open: Slot[];
  /**
   * The read cache, oldest first: generations whose flush LMDB has committed. Whole generations
   * are dropped, oldest first, to keep at most `cacheEntries` slots; a slot read or written
   * since (it belongs to a newer generation) or changed since the last capture stays.
   */
  readonly cache: Generation[];
  /** slots in `cache` */
  cached: number;
  /** slots changed since the last capture, when changes are tracked */
  changed: Slot[] | undefined;
}

/** One batch of writes handed to LMDB: its generations are evictable once LMDB has them. */
interface Flush {
  readonly layers: [DiskTable, Generation][];
  committed: boolean;
  /** settles once written (or failed: then `failure` is set) */
  readonly done: Promise<void>;
}

/** Flushed layers that may wait for LMDB before the task waits too. */
const MAX_PENDING_FLUSHES = 2;

export interface LmdbKeyedStateOptions {
  readonly maxParallelism: number;
  /** working directory; a fresh LMDB environment is created under it per operator subtask */
  readonly dir: string;
  /** names the environment's folder (operator uid and subtask) */
  readonly label: string;
  /** entries written to LMDB in one batch (default 65 536) */
  readonly flushEntries?: number | undefined;
  /** entries kept in memory as a read cache, per state table (default 262 144; 0: none) */
  readonly cacheEntries?: number | undefined;
}

/**
 * Disk-backed keyed state on LMDB (`lmdb`): state larger than memory, one operator subtask per
 * LMDB environment under the job's `state.dir`.
 *
 * Entries are stored under `[key group][table][key]` (see `stored-entries.ts`), so a key group's
 * state is one contiguous key range. Each key held in memory has one slot per table, with its
 * newest state: a read or a write looks the key up once (and a write right after a read of the
 * same key not at all), and a read that misses reads LMDB (synchronously: memory-mapped, decoded
 * on read) into a new slot. After `flushEntries` slots were written, they are encoded and handed
 * to lmdb's write thread, which commits them while the task goes on; the slots read or written
 * since the previous flush form a generation, which joins the read cache once LMDB has the
 * flush. The oldest generations go once the cache holds more than `cacheEntries` slots per
 * table. When more than two flushes wait for LMDB, the task waits (`pendingWork`): memory stays
 * bounded. Values are stored in msgpack with record structures shared in memory (the environment
 * lives as long as the backend), so a value carries no field names. A capture takes the slots
 * changed since the previous one, which stay in memory until then: no LMDB read.
 *
 * The LMDB environment is working storage only, not durable: checkpoints record the changed keys
 * per key group as pieces (the same changelog chain as the heap backend, see
 * `incremental-snapshots.ts`), and a restore — with any parallelism — reads the chains of the key
 * groups a subtask owns into a fresh environment. Values follow the `StateValue` rules and are
 * copied on write (a value changed after `update` without another `update` is not stored), as in
 * Flink's RocksDB backend. Timers stay on the heap (Flink's `HEAP` timer service option).
 */
export class LmdbKeyedStateBackend implements KeyedStateBackend {
  private key: Key | undefined;
  private readonly tables = new Map<string, DiskTable>();
  private readonly tablesById: DiskTable[] = [];
  private tracking = false;
  /** the open generation (read or written since the last flush) */
  private generation = 0;
  /** captures taken so far: a slot changed since the last one has `changedIn === epoch` */
  private epoch = 0;
  /** flushes not yet in LMDB, oldest first */
  private readonly flushes: Flush[] = [];
  /** slots written since the last flush, all tables */
  private written = 0;
  /** the slot found last (a write after a read of the same key finds it without a lookup) */
  private last: Slot | undefined;
  private lastTable: DiskTable | undefined;
  private failure: unknown;
  private closed = false;
  private readonly flushEntries: number;
  private readonly cacheEntries: number;

  private constructor(
    private readonly maxParallelism: number,
    private readonly db: RootDatabase<unknown, Buffer>,
    private readonly path: string,
    options: LmdbKeyedStateOptions,
  ) {
    this.flushEntries = Math.max(1, options.flushEntries ?? 65_536);
    this.cacheEntries = options.cacheEntries ?? 262_144;
  }

  /** Creates a fresh environment under `options.dir` (and removes ones left by dead processes). */
  static async open(options: LmdbKeyedStateOptions): Promise<LmdbKeyedStateBackend> {
    await mkdir(options.dir, { recursive: true });
    await removeStaleEnvironments(options.dir);
    const label = options.label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
    const path = await mkdtemp(join(options.dir, `lmdb-${process.pid}-${label}-`));
    let db: RootDatabase<unknown, Buffer>;
    try {
      db = open<unknown, Buffer>({
        path,
        keyEncoding: 'binary',
        encoding: 'msgpack',
        // record structures shared by all values, kept in memory only: the environment is
        // dropped with the backend, so they need not be stored
        encoder: { ...STATE_VALUE_ENCODER, structures: [] },
        // working storage, rebuilt from checkpoint pieces on restore: no fsync
        noSync: true,
        noMetaSync: true,
        mapSize: 2 ** 36,
      });
    } catch (err) {
      await rm(path, { recursive: true, force: true });
      throw new TributaryError(
        'ILLEGAL_STATE',
        `cannot open the LMDB keyed state environment in ${path}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    return new LmdbKeyedStateBackend(options.maxParallelism, db, path, options);
  }

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
      value: () => this.get(table, this.currentKey) as T | undefined,
      update: (value: T) => this.write(table, this.currentKey, value, true),
      clear: () => this.write(table, this.currentKey, DELETED, true),
    } satisfies ValueState<T>) as ValueState<T>;
  }

  listState<T>(name: string): ListState<T> {
    const table = this.table(name, 'list');
    return (table.handle ??= {
      get: () => (this.get(table, this.currentKey) as T[] | undefined) ?? [],
      add: (value: T) => {
        const key = this.currentKey;
        const list = (this.get(table, key) as T[] | undefined) ?? [];
        list.push(value);
        this.write(table, key, list, true);
      },
      update: (values: readonly T[]) => this.write(table, this.currentKey, [...values], true),
      clear: () => this.write(table, this.currentKey, DELETED, true),
    } satisfies ListState<T>) as ListState<T>;
  }

  mapState<K, V>(name: string): MapState<K, V> {
    const table = this.table(name, 'map');
    const map = (): Map<K, V> | undefined => this.get(table, this.currentKey) as Map<K, V>;
    const empty = new Map<K, V>();
    return (table.handle ??= {
      get: (k: K) => map()?.get(k),
      put: (k: K, v: V) => {
        const key = this.currentKey;
        const m = (this.get(table, key) as Map<K, V> | undefined) ?? new Map<K, V>();
        m.set(k, v);
        this.write(table, key, m, true);
      },
      remove: (k: K) => {
        const key = this.currentKey;
        const m = this.get(table, key) as Map<K, V> | undefined;
        if (m === undefined || !m.has(k)) return;
        m.delete(k);
        this.write(table, key, m.size === 0 ? DELETED : m, true);
      },
      contains: (k: K) => map()?.has(k) ?? false,
      entries: () => (map() ?? empty).entries(),
      keys: () => (map() ?? empty).keys(),
      values: () => (map() ?? empty).values(),
      size: () => map()?.size ?? 0,
      clear: () => this.write(table, this.currentKey, DELETED, true),
    } satisfies MapState<K, V>) as MapState<K, V>;
  }

  trackChanges(): void {
    this.tracking = true;
    for (const table of this.tables.values()) table.changed ??= [];
  }

  /** Keys of a capture that was not written count as changed again (read back if evicted). */
  markChanged(changed: ChangedKeys): void {
    for (const [name, keys] of changed) {
      const table = this.tables.get(name);
      if (table?.changed === undefined) continue;
      for (const key of keys) this.markSlot(table, this.slot(table, key));
    }
  }

  /**
   * The current state of every key changed since the previous capture, per key group (held in
   * memory since the write: cost ∝ changed keys, no LMDB read). A failed LMDB write fails the
   * capture.
   */
  captureChanges(): { changed: ChangedKeys; groups: Map<number, SectionTables> } {
    this.throwIfFailed();
    const changed = new Map<string, Key[]>();
    const groups = new Map<number, SectionTables>();
    for (const [name, table] of this.tables) {
      if (table.changed === undefined || table.changed.length === 0) continue;
      const slots = table.changed;
      table.changed = [];
      const keys: Key[] = [];
      changed.set(name, keys);
      for (const slot of slots) {
        keys.push(slot.key);
        let tables = groups.get(slot.group);
        if (tables === undefined) groups.set(slot.group, (tables = {}));
        const entry = (tables[name] ??= [table.kind, [], []]);
        const value = slot.value;
        if (value === DELETED) {
          entry[2].push(slot.key);
        } else {
          const stateValue = value === UNDEFINED ? undefined : value;
          checkStateValue(stateValue);
          entry[1].push(slot.key, stateValue);
        }
      }
    }
    this.epoch++;
    return { changed, groups };
  }

  applySection(section: SectionTables): void {
    for (const [name, [kind, puts, deletes]] of Object.entries(section)) {
      const table = this.table(name, kind);
      for (const key of deletes) this.write(table, key, DELETED, false);
      for (let i = 0; i < puts.length; i += 2)
        this.write(table, puts[i] as Key, puts[i + 1], false);
    }
  }

  keyCount(): number {
    const keys = new Set<Key>();
    for (const [, , key] of this.scan()) keys.add(key);
    return keys.size;
  }

  /** All state (full snapshots): a scan of LMDB merged with the slots held in memory. */
  snapshot(): Map<number, KeyedStateSnapshot> {
    this.throwIfFailed();
    const groups = new Map<number, KeyedStateSnapshot>();
    for (const [table, group, key, value] of this.scan()) {
      let tables = groups.get(group);
      if (tables === undefined) groups.set(group, (tables = {}));
      (tables[table.name] ??= { kind: table.kind, entries: [] }).entries.push([key, value]);
    }
    return groups;
  }

  restoreKeyGroup(state: StateValue): void {
    const tables = state as KeyedStateSnapshot;
    for (const [name, { kind, entries }] of Object.entries(tables)) {
      const table = this.table(name, kind);
      for (const [key, value] of entries) this.write(table, key, value, true);
    }
  }

  /** Waits for pending LMDB writes, closes the environment and deletes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.db.committed;
    } catch {
      // a failed write was reported to the task already; the environment is dropped anyway
    }
    await this.db.close();
    await rm(this.path, { recursive: true, force: true });
  }

  private get(table: DiskTable, key: Key): unknown {
    const value = this.slot(table, key).value;
    return value === DELETED || value === UNDEFINED ? undefined : value;
  }

  /** The slot of `key` in `table`: held in memory, or read from LMDB into a new one. */
  private slot(table: DiskTable, key: Key): Slot {
    const last = this.last;
    if (last !== undefined && last.key === key && this.lastTable === table) return last;
    let slot = table.slots.get(key);
    if (slot === undefined) {
      const hash = hashKey(key);
      const group = this.groupOf(hash);
      const stored = this.storedKey(table, group, key);
      const held = table.held.mayHold(hash);
      let value: unknown;
      try {
        value = held ? this.db.get(stored) : undefined;
      } catch (err) {
        throw new TributaryError(
          'STATE_CORRUPT',
          `${this.describe(table, key)} cannot be read: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      if (!held) table.held.add(hash);
      slot = this.newSlot(table, key, group, value === undefined ? DELETED : value);
      // reads without writes still rotate generations (an empty flush), so the cache ages
      if (table.open.length >= this.flushEntries) this.flush();
    }
    this.last = slot;
    this.lastTable = table;
    return slot;
  }

  /**
   * The key group of a key's hash, as a small integer: `hashKey` is unsigned, so `%` on it can
   * yield a heap number, and one stored in a slot would make V8 box that field in every slot.
   */
  private groupOf(hash: number): number {
    return (hash % this.maxParallelism) | 0;
  }

  private newSlot(table: DiskTable, key: Key, group: number, value: unknown): Slot {
    const slot = new Slot(key, group, value, this.generation);
    table.slots.set(key, slot);
    table.open.push(slot);
    return slot;
  }

  private write(table: DiskTable, key: Key, value: unknown, changed: boolean): void {
    if (this.closed) throw new TributaryError('ILLEGAL_STATE', 'keyed state used after close');
    const last = this.last;
    let slot =
      last !== undefined && last.key === key && this.lastTable === table
        ? last
        : table.slots.get(key);
    if (slot === undefined) {
      // a write without a read: no need to read LMDB (the key's length is checked now, not at
      // the flush)
      checkStoredKey(key);
      const hash = hashKey(key);
      if (!table.held.mayHold(hash)) table.held.add(hash);
      slot = this.newSlot(table, key, this.groupOf(hash), DELETED);
    } else if (slot.generation !== this.generation) {
      slot.generation = this.generation;
      table.open.push(slot);
    }
    slot.value = value === undefined ? UNDEFINED : value;
    if (changed) this.markSlot(table, slot);
    if (!slot.unflushed) {
      slot.unflushed = true;
      table.writes.push(slot);
      if (++this.written >= this.flushEntries) this.flush();
    }
  }

  private markSlot(table: DiskTable, slot: Slot): void {
    if (table.changed === undefined || slot.changedIn === this.epoch) return;
    slot.changedIn = this.epoch;
    table.changed.push(slot);
  }

  /**
   * Hands the slots written since the last flush to lmdb's write thread, encoded (writes commit
   * in the order they are issued, so newer state always lands after older state), and closes
   * the open generation.
   */
  private flush(): void {
    const layers: [DiskTable, Generation][] = [];
    let last: Promise<boolean> | undefined;
    for (const table of this.tables.values()) {
      for (const slot of table.writes) {
        slot.unflushed = false;
        // lmdb copies the key into its write buffer: the reused encoding buffer will do
        const stored = this.storedKey(table, slot.group, slot.key);
        const value = slot.value;
        last =
          value === DELETED
            ? this.db.remove(stored)
            : this.db.put(stored, value === UNDEFINED ? undefined : value);
      }
      table.writes = [];
      if (table.open.length > 0) layers.push([table, { id: this.generation, slots: table.open }]);
      table.open = [];
    }
    this.generation++;
    this.written = 0;
    const flush: Flush = {
      layers,
      committed: false,
      done: Promise.resolve(last).then(
        () => this.committed(flush),
        (err: unknown) => void (this.failure ??= err),
      ),
    };
    this.flushes.push(flush);
  }

  /**
   * While more than two flushed layers wait for LMDB, a promise for the oldest: the task awaits
   * it before its next input (backpressure), so writes never run away from LMDB.
   */
  pendingWork(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.writeFailed(this.failure));
    return this.flushes.length > MAX_PENDING_FLUSHES ? this.flushes[0]?.done : undefined;
  }

  /**
   * A flush is in LMDB: the generations of the committed flushes, oldest first, join the read
   * caches, and the oldest cached generations beyond the budget are dropped.
   */
  private committed(flush: Flush): void {
    flush.committed = true;
    while (this.flushes[0]?.committed === true) {
      const { layers } = this.flushes.shift() as Flush;
      for (const [table, generation] of layers) {
        table.cache.push(generation);
        table.cached += generation.slots.length;
        while (table.cached > this.cacheEntries && table.cache.length > 0)
          this.evict(table, table.cache.shift() as Generation);
      }
    }
  }

  /**
   * Drops the slots of a committed generation from memory (LMDB has their state), but those read
   * or written since (a newer generation has them) and those changed since the last capture
   * (they join the open generation).
   */
  private evict(table: DiskTable, generation: Generation): void {
    table.cached -= generation.slots.length;
    this.last = undefined;
    for (const slot of generation.slots) {
      if (slot.generation !== generation.id) continue;
      if (slot.changedIn === this.epoch && table.changed !== undefined) {
        slot.generation = this.generation;
        table.open.push(slot);
      } else {
        table.slots.delete(slot.key);
      }
    }
  }

  /** Every entry with state: LMDB, overlaid by the slots held in memory (newer). */
  private *scan(): Generator<[DiskTable, number, Key, unknown]> {
    for (const { key, value } of this.db.getRange({})) {
      const [group, tableId, k] = decodeStoredKey(key);
      const table = this.tablesById[tableId];
      if (table === undefined || table.slots.has(k)) continue;
      yield [table, group, k, value];
    }
    for (const table of this.tables.values()) {
      for (const slot of table.slots.values()) {
        if (slot.value !== DELETED)
          yield [table, slot.group, slot.key, slot.value === UNDEFINED ? undefined : slot.value];
      }
    }
  }

  private storedKey(table: DiskTable, group: number, key: Key): Buffer {
    return encodeStoredKey(group, table.id, key, false);
  }

  private describe(table: DiskTable, key: Key): string {
    return `state "${table.name}" of key ${keyText(key)} in ${this.path}`;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.writeFailed(this.failure);
  }

  private writeFailed(err: unknown): TributaryError {
    return new TributaryError(
      'CHECKPOINT_FAILED',
      `writing keyed state to LMDB in ${this.path} failed: ${errorMessage(err)}`,
      { cause: err },
    );
  }

  private table(name: string, kind: StateKind): DiskTable {
    let table = this.tables.get(name);
    if (table === undefined) {
      table = {
        name,
        id: this.tablesById.length,
        kind,
        handle: undefined,
        slots: new Map(),
        held: new KeyFilter(),
        writes: [],
        open: [],
        cache: [],
        cached: 0,
        changed: this.tracking ? [] : undefined,
      };
      this.tables.set(name, table);
      this.tablesById.push(table);
    } else if (table.kind !== kind) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `state "${name}" is ${table.kind} state and cannot be used as ${kind} state`,
      );
    }
    return table;
  }
}

/** Removes `lmdb-<pid>-…` environments of processes that no longer run (killed jobs). */
async function removeStaleEnvironments(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(/^lmdb-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
