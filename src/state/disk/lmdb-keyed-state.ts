import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { TributaryError, errorMessage } from '../../errors.js';
import { checkStateValue, type StateValue } from '../../checkpoint/state-codec.js';
import { keyGroupOf, keyText, type Key } from '../../runtime/key-groups.js';
import type {
  ChangedKeys,
  KeyedStateBackend,
  KeyedStateSnapshot,
  ListState,
  MapState,
  ValueState,
} from '../../runtime/keyed-state.js';
import type { SectionTables, StateKind } from '../state-sections.js';
import { STATE_VALUE_ENCODER, decodeStoredKey, encodeStoredKey } from './stored-entries.js';

/** A key's slot in a write layer when its state was cleared. */
const DELETED: unique symbol = Symbol('deleted');
/** What `find` returns for a key without state. */
const ABSENT: unique symbol = Symbol('absent');
/** An `undefined` state value in memory (so that one `Map.get` tells all). */
const UNDEFINED: unique symbol = Symbol('undefined');
/** A changed key whose state the capture looks up (marked changed again). */
const UNKNOWN: unique symbol = Symbol('unknown');

interface DiskTable {
  readonly name: string;
  readonly id: number;
  readonly kind: StateKind;
  handle: unknown;
  /**
   * The write-back cache: the newest state of keys written and not yet handed to LMDB (`DELETED`
   * for cleared keys), least recently written first. Only the oldest entries go to LMDB, once
   * there are more than `writeCacheEntries`: keys written again and again stay here.
   */
  unflushed: Map<Key, unknown>;
  /** state read from LMDB since the last commit (newer than every generation) */
  reads: Map<Key, unknown>;
  /**
   * The read cache, oldest first: committed layers and earlier `reads`, each the state LMDB had
   * of its keys then (a newer generation shadows an older one). Whole generations are dropped,
   * oldest first, to keep at most `cacheEntries` entries: no per-key bookkeeping.
   */
  readonly generations: Map<Key, unknown>[];
  /** entries in `generations` */
  cached: number;
  /**
   * The newest state of the keys written since the last capture, when changes are tracked (so a
   * capture reads no key back from LMDB); `UNKNOWN` for keys marked changed again.
   */
  dirty: Map<Key, unknown> | undefined;
}

/** One batch of writes handed to LMDB: its layers stay in memory until LMDB has them. */
interface Flush {
  /** per table, the state written (what `unflushed` was) */
  readonly layers: Map<DiskTable, Map<Key, unknown>>;
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
  /**
   * the most recently written entries kept in memory per state table, written to LMDB only when
   * they leave (a write-back cache: default 262 144; 0: every write goes to LMDB in its batch)
   */
  readonly writeCacheEntries?: number | undefined;
  /** entries kept in memory as a read cache, per state table (default 262 144; 0: none) */
  readonly cacheEntries?: number | undefined;
}

/**
 * Disk-backed keyed state on LMDB (`lmdb`): state larger than memory, one operator subtask per
 * LMDB environment under the job's `state.dir`.
 *
 * Entries are stored under `[key group][table][key]` (see `stored-entries.ts`), so a key group's
 * state is one contiguous key range. Writes go to a write-back cache per state table that keeps
 * the `writeCacheEntries` most recently written keys: a key updated again and again (a hot key)
 * stays in memory and never costs an LMDB write (LMDB's copy-on-write B-tree makes a random put
 * ~7× a get). Once `flushEntries` more keys are there, the least recently written are encoded as
 * a layer and handed to lmdb's write thread, which commits it while the task goes on. A layer
 * stays in memory until LMDB has it, then becomes a generation
 * of the read cache (with the state read from LMDB since the previous commit); the oldest
 * generations go once the cache holds more than `cacheEntries` entries per table. A read looks
 * at the layers and generations (newest first), then LMDB (synchronously: memory-mapped, decoded
 * on read). When more than two flushes wait for LMDB, the task waits
 * (`pendingWork`): memory stays bounded. Values are stored in msgpack with record structures
 * shared in memory (the environment lives as long as the backend), so a value carries no field
 * names.
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
  /** flushes not yet in LMDB, oldest first */
  private readonly flushes: Flush[] = [];
  /** entries handed to LMDB so far (writes and deletes; what the write-back cache saves) */
  entriesWritten = 0;
  private failure: unknown;
  private closed = false;
  private readonly flushEntries: number;
  private readonly writeCacheEntries: number;
  private readonly cacheEntries: number;

  private constructor(
    private readonly maxParallelism: number,
    private readonly db: RootDatabase<unknown, Buffer>,
    private readonly path: string,
    options: LmdbKeyedStateOptions,
  ) {
    this.flushEntries = options.flushEntries ?? 65_536;
    this.writeCacheEntries = options.writeCacheEntries ?? 262_144;
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
    for (const table of this.tables.values()) table.dirty ??= new Map();
  }

  markChanged(changed: ChangedKeys): void {
    for (const [name, keys] of changed) {
      const dirty = this.tables.get(name)?.dirty;
      if (dirty !== undefined) for (const key of keys) if (!dirty.has(key)) dirty.set(key, UNKNOWN);
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
      if (table.dirty === undefined || table.dirty.size === 0) continue;
      const dirty = table.dirty;
      table.dirty = new Map();
      changed.set(name, [...dirty.keys()]);
      for (const [key, newest] of dirty) {
        const group = keyGroupOf(key, this.maxParallelism);
        let tables = groups.get(group);
        if (tables === undefined) groups.set(group, (tables = {}));
        const entry = (tables[name] ??= [table.kind, [], []]);
        const value =
          newest === UNKNOWN
            ? this.find(table, key)
            : newest === DELETED
              ? ABSENT
              : newest === UNDEFINED
                ? undefined
                : newest;
        if (value === ABSENT) {
          entry[2].push(key);
        } else {
          checkStateValue(value);
          entry[1].push(key, value);
        }
      }
    }
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

  /** All state (full snapshots): a scan of LMDB merged with the layers not yet written. */
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

  /**
   * Removes the keys of `groups`: each key group is one contiguous range in LMDB (read
   * synchronously) plus the keys held in memory; every key found is written as deleted, not as a
   * change. Cost ∝ the keys of those groups.
   */
  dropKeyGroups(groups: ReadonlySet<number>): void {
    if (groups.size === 0) return;
    this.throwIfFailed();
    const inGroups = (key: Key): boolean => groups.has(keyGroupOf(key, this.maxParallelism));
    const doomed = new Map<DiskTable, Set<Key>>();
    const add = (table: DiskTable, key: Key): void => {
      let keys = doomed.get(table);
      if (keys === undefined) doomed.set(table, (keys = new Set()));
      keys.add(key);
    };
    for (const group of groups) {
      const start = Buffer.alloc(2);
      start.writeUInt16BE(group, 0);
      const end = Buffer.alloc(2);
      if (group < 0xffff) end.writeUInt16BE(group + 1, 0);
      const range = group < 0xffff ? { start, end } : { start };
      for (const stored of this.db.getKeys(range)) {
        const [, tableId, key] = decodeStoredKey(stored);
        const table = this.tablesById[tableId];
        if (table !== undefined) add(table, key);
      }
    }
    for (const table of this.tables.values()) {
      const layers = [
        ...table.generations,
        table.reads,
        ...this.flushes.map((flush) => flush.layers.get(table) ?? new Map<Key, unknown>()),
        table.unflushed,
      ];
      for (const layer of layers)
        for (const key of layer.keys()) if (inGroups(key)) add(table, key);
      if (table.dirty !== undefined)
        for (const key of [...table.dirty.keys()]) if (inGroups(key)) table.dirty.delete(key);
    }
    for (const [table, keys] of doomed)
      for (const key of keys) this.write(table, key, DELETED, false);
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

  /** The newest state of `key`, or `ABSENT`. */
  private find(table: DiskTable, key: Key): unknown {
    let value = table.unflushed.get(key);
    for (let i = this.flushes.length - 1; value === undefined && i >= 0; i--)
      value = (this.flushes[i] as Flush).layers.get(table)?.get(key);
    value ??= table.reads.get(key);
    for (let i = table.generations.length - 1; value === undefined && i >= 0; i--)
      value = (table.generations[i] as Map<Key, unknown>).get(key);
    if (value === undefined) {
      const stored = this.storedKey(table, keyGroupOf(key, this.maxParallelism), key);
      try {
        value = this.db.get(stored);
      } catch (err) {
        throw new TributaryError(
          'STATE_CORRUPT',
          `${this.describe(table, key)} cannot be read: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      if (value === undefined) return ABSENT;
      if (this.cacheEntries > 0) {
        table.reads.set(key, value);
        // reads without writes (no commits) still age out
        if (table.reads.size >= this.cacheEntries >>> 2) this.age(table);
      }
    }
    return value === DELETED ? ABSENT : value === UNDEFINED ? undefined : value;
  }

  private get(table: DiskTable, key: Key): unknown {
    const value = this.find(table, key);
    return value === ABSENT ? undefined : value;
  }

  private write(table: DiskTable, key: Key, value: unknown, changed: boolean): void {
    if (this.closed) throw new TributaryError('ILLEGAL_STATE', 'keyed state used after close');
    const stored = value === undefined ? UNDEFINED : value;
    if (changed) table.dirty?.set(key, stored);
    const unflushed = table.unflushed;
    // written again: it moves to the newest end (the least recently written leave first)
    if (unflushed.delete(key)) {
      unflushed.set(key, stored);
      return;
    }
    unflushed.set(key, stored);
    if (unflushed.size >= this.writeCacheEntries + this.flushEntries) this.flush(table);
  }

  /**
   * Makes `layer` (state LMDB now has) the newest generation of `table`'s cache, after the state
   * read since the previous one, and drops the oldest generations beyond the cache's budget.
   */
  private age(table: DiskTable, layer?: Map<Key, unknown>): void {
    if (table.reads.size > 0) {
      table.generations.push(table.reads);
      table.cached += table.reads.size;
      table.reads = new Map();
    }
    if (layer !== undefined) {
      table.generations.push(layer);
      table.cached += layer.size;
    }
    while (table.cached > this.cacheEntries && table.generations.length > 0)
      table.cached -= (table.generations.shift() as Map<Key, unknown>).size;
  }

  /**
   * Hands the `flushEntries` least recently written entries of `table`'s write-back cache to
   * lmdb's write thread. Writes commit in the order they are issued, so newer state always lands
   * after older state; the layer stays readable in memory until LMDB has it.
   */
  private flush(table: DiskTable): void {
    const unflushed = table.unflushed;
    const layer = new Map<Key, unknown>();
    for (const [key, value] of unflushed) {
      layer.set(key, value);
      if (layer.size === this.flushEntries) break;
    }
    let last: Promise<boolean> | undefined;
    this.entriesWritten += layer.size;
    for (const [key, value] of layer) {
      unflushed.delete(key);
      // lmdb copies the key into its write buffer: the reused encoding buffer will do
      const stored = this.storedKey(table, keyGroupOf(key, this.maxParallelism), key);
      last =
        value === DELETED
          ? this.db.remove(stored)
          : this.db.put(stored, value === UNDEFINED ? undefined : value);
    }
    const layers = new Map([[table, layer]]);
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
   * A flush is in LMDB: the layers of the committed flushes, oldest first, become the newest
   * generations of the caches (in order, so that a newer layer always shadows an older one).
   */
  private committed(flush: Flush): void {
    flush.committed = true;
    while (this.flushes[0]?.committed === true) {
      const { layers } = this.flushes.shift() as Flush;
      if (this.cacheEntries > 0) for (const [table, layer] of layers) this.age(table, layer);
    }
  }

  /** Every entry with state: LMDB, overlaid by the newest state held in memory. */
  private *scan(): Generator<[DiskTable, number, Key, unknown]> {
    const overlay = new Map<DiskTable, Map<Key, unknown>>();
    for (const table of this.tables.values()) {
      const merged = new Map<Key, unknown>();
      for (const generation of [...table.generations, table.reads])
        for (const [k, v] of generation) merged.set(k, v);
      for (const flush of this.flushes)
        for (const [k, v] of flush.layers.get(table) ?? []) merged.set(k, v);
      for (const [k, v] of table.unflushed) merged.set(k, v);
      overlay.set(table, merged);
    }
    for (const { key, value } of this.db.getRange({})) {
      const [group, tableId, k] = decodeStoredKey(key);
      const table = this.tablesById[tableId];
      if (table === undefined || overlay.get(table)?.has(k) === true) continue;
      yield [table, group, k, value];
    }
    for (const [table, merged] of overlay) {
      for (const [k, v] of merged) {
        if (v !== DELETED)
          yield [table, keyGroupOf(k, this.maxParallelism), k, v === UNDEFINED ? undefined : v];
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
        unflushed: new Map(),
        reads: new Map(),
        generations: [],
        cached: 0,
        dirty: this.tracking ? new Map() : undefined,
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
