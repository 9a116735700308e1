import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { TributaryError, hasErrorCode } from '../../../errors.js';
import {
  TABLE_KEY_MUST_NOT_EXIST,
  type SegmentStore,
  type TableEntry,
  type TableKeyRef,
  type TableUpdate,
} from '../../segment/segment-store.js';
import {
  decodeState,
  encodeState,
  type GroupState,
  type SegmentKey,
  type Transition,
} from './group-state.js';

/**
 * Where a reader group's state lives: ONE table segment per group, `<scope>/_RG<group>_state/0.#epoch.0`
 * (a name the controller routes like any segment's). Keys:
 * - `state`: the whole group state (group-state.ts), JSON. Every change is a conditional update on
 *   this key's version: read, apply a pure transition, write with the version read; on a version
 *   conflict read again and re-apply (optimistic concurrency, jittered backoff).
 * - `rev`: rewritten (unconditionally, in the same atomic batch) with every change of `state`, so
 *   readers can poll a tiny key and fetch the state only when its version moved.
 * - `reader/<id>`: each online reader's heartbeat and last reported positions; written only by that
 *   reader (conditionally on its own last version), tombstoned by whoever takes it offline.
 * - `checkpoint/<generation>/<name>`: one record per checkpoint, created (must not exist) at
 *   initiation — which makes names unique — and rewritten when it completes or is cancelled; the
 *   initiator polls it. Records of names that fall out of the state's history, and of earlier
 *   generations, are deleted.
 */

export interface Snapshot {
  readonly state: GroupState;
  readonly version: bigint;
}

const STATE_KEY = Buffer.from('state', 'utf8');
const REV_KEY = Buffer.from('rev', 'utf8');
const READER_PREFIX = 'reader/';
const CHECKPOINT_PREFIX = 'checkpoint/';

export function readerKey(reader: string): Buffer {
  return Buffer.from(`${READER_PREFIX}${reader}`, 'utf8');
}

export function checkpointKey(generation: number, name: string): Buffer {
  return Buffer.from(`${CHECKPOINT_PREFIX}${generation}/${name}`, 'utf8');
}

export function readerGroupSegment(scope: string, group: string): string {
  return `${scope}/_RG${group}_state/0.#epoch.0`;
}

// ---- reader records ----

const Dec = z.string().regex(/^\d+$/);

const ReaderRecordJson = z
  .object({
    generation: z.number().int(),
    session: z.string(),
    offline: z.boolean(),
    positions: z.record(z.string(), Dec),
  })
  .strict();

export interface ReaderRecord {
  readonly generation: number;
  readonly session: string;
  readonly offline: boolean;
  readonly positions: ReadonlyMap<SegmentKey, bigint>;
}

export function encodeReaderRecord(r: ReaderRecord): Buffer {
  const positions: Record<string, string> = {};
  for (const [k, v] of r.positions) positions[k] = v.toString();
  return Buffer.from(
    JSON.stringify({
      generation: r.generation,
      session: r.session,
      offline: r.offline,
      positions,
    }),
    'utf8',
  );
}

export function decodeReaderRecord(data: Buffer): ReaderRecord | undefined {
  const parsed = ReaderRecordJson.safeParse(safeJson(data));
  if (!parsed.success) return undefined;
  return {
    generation: parsed.data.generation,
    session: parsed.data.session,
    offline: parsed.data.offline,
    positions: new Map(Object.entries(parsed.data.positions).map(([k, v]) => [k, BigInt(v)])),
  };
}

// ---- checkpoint records ----

const CheckpointRecordJson = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending'), by: z.string().optional() }).strict(),
  z
    .object({
      status: z.literal('complete'),
      positions: z.record(z.string(), Dec),
      by: z.string().optional(),
    })
    .strict(),
  z.object({ status: z.literal('cancelled') }).strict(),
]);

/** `by`: a token of the initiating call, so that it recognises its own write when it retries. */
export type CheckpointRecord =
  | { readonly status: 'pending'; readonly by?: string }
  | {
      readonly status: 'complete';
      readonly positions: ReadonlyMap<SegmentKey, bigint>;
      readonly by?: string;
    }
  | { readonly status: 'cancelled' };

function encodeCheckpointRecord(r: CheckpointRecord): Buffer {
  if (r.status !== 'complete') return Buffer.from(JSON.stringify(r), 'utf8');
  const positions: Record<string, string> = {};
  for (const [k, v] of r.positions) positions[k] = v.toString();
  return Buffer.from(
    JSON.stringify({ status: 'complete', positions, ...(r.by !== undefined ? { by: r.by } : {}) }),
    'utf8',
  );
}

export function decodeCheckpointRecord(data: Buffer, where: string): CheckpointRecord {
  const parsed = CheckpointRecordJson.safeParse(safeJson(data));
  if (!parsed.success) {
    throw new TributaryError('STATE_CORRUPT', `checkpoint record in ${where} is not readable`);
  }
  const d = parsed.data;
  if (d.status === 'cancelled') return { status: 'cancelled' };
  const by = d.by !== undefined ? { by: d.by } : {};
  if (d.status === 'pending') return { status: 'pending', ...by };
  return {
    status: 'complete',
    positions: new Map(Object.entries(d.positions).map(([k, v]) => [k, BigInt(v)])),
    ...by,
  };
}

function safeJson(data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
}

const DeletedJson = z.object({ v: z.literal(1), deleted: z.literal(true), generation: z.number() });

/** The generation of a deleted group, if `value` is the marker {@link GroupStateTable.delete} left. */
function deletedGeneration(value: Buffer): number | undefined {
  const parsed = DeletedJson.safeParse(safeJson(value));
  return parsed.success ? parsed.data.generation : undefined;
}

function isConflict(err: unknown): boolean {
  return hasErrorCode(err, 'TABLE_KEY_BAD_VERSION', 'TABLE_KEY_NOT_FOUND');
}

/** A transition plus table writes that must happen atomically with it. */
export type Update<R> = Transition<R> & { readonly writes?: readonly TableUpdate[] };

export interface UpdateOptions {
  /** a recent snapshot to try first (saves a read when nobody changed the state since) */
  readonly cached?: Snapshot | undefined;
  /** keys read together with the state and handed to the transition */
  readonly readKeys?: readonly Buffer[];
  /** token stored in the records of checkpoints this update initiates */
  readonly initiator?: string;
}

export interface UpdateOutcome<R> {
  readonly snapshot: Snapshot;
  readonly result: R;
  readonly written: boolean;
  /** new versions of the transition's extra `writes`, in order */
  readonly writeVersions: readonly bigint[];
}

const MAX_ATTEMPTS = 200;

export class GroupStateTable {
  readonly segment: string;

  constructor(
    private readonly store: SegmentStore,
    readonly scope: string,
    readonly group: string,
  ) {
    this.segment = readerGroupSegment(scope, group);
  }

  private notFound(cause?: unknown): TributaryError {
    return new TributaryError(
      'READER_GROUP_NOT_FOUND',
      `reader group ${this.scope}/${this.group} does not exist`,
      {
        ...(cause !== undefined ? { cause } : {}),
        details: { scope: this.scope, group: this.group },
      },
    );
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (hasErrorCode(err, 'NO_SUCH_SEGMENT')) throw this.notFound(err);
      throw err;
    }
  }

  /**
   * Creates the group: the table (if new) and the first state. READER_GROUP_EXISTS if the group
   * has a state already. A group deleted before (see {@link delete}) is created again with the next
   * generation, so nothing it left behind can be mistaken for the new group's.
   */
  async create(initial: GroupState): Promise<Snapshot> {
    await this.store.createTableSegment(this.segment);
    for (let attempt = 0; ; attempt++) {
      const [current] = await this.guard(() => this.store.tableGet(this.segment, [STATE_KEY]));
      let state = initial;
      let version = TABLE_KEY_MUST_NOT_EXIST;
      if (current !== undefined) {
        const deleted = deletedGeneration(current.value);
        if (deleted === undefined) {
          throw new TributaryError(
            'READER_GROUP_EXISTS',
            `reader group ${this.scope}/${this.group} already exists`,
            { details: { scope: this.scope, group: this.group } },
          );
        }
        state = { ...initial, generation: deleted + 1 };
        version = current.version;
      }
      try {
        const [written] = await this.guard(() =>
          this.store.tableUpdate(this.segment, [
            { key: STATE_KEY, value: encodeState(state), version },
            { key: REV_KEY, value: Buffer.from(String(state.generation)) },
          ]),
        );
        return { state, version: written! };
      } catch (err) {
        if (!isConflict(err) || attempt >= 20) throw err;
      }
    }
  }

  /**
   * Deletes the group: its state becomes a marker of the deleted generation (readers and
   * managers of the group get READER_GROUP_NOT_FOUND) and every other record is removed. The
   * table segment itself stays, nearly empty: a segment store keeps the name of a deleted segment
   * blocked for a long time, and a group of the same name must be creatable again at once.
   * @returns false if there was no group
   */
  async delete(): Promise<boolean> {
    let deleted = false;
    for (let attempt = 0; ; attempt++) {
      let current: TableEntry | undefined;
      try {
        [current] = await this.store.tableGet(this.segment, [STATE_KEY]);
      } catch (err) {
        if (hasErrorCode(err, 'NO_SUCH_SEGMENT')) return false;
        throw err;
      }
      if (current === undefined || deletedGeneration(current.value) !== undefined) break;
      const generation = decodeState(current.value, this.segment).generation;
      try {
        await this.store.tableUpdate(this.segment, [
          {
            key: STATE_KEY,
            value: Buffer.from(JSON.stringify({ v: 1, deleted: true, generation })),
            version: current.version,
          },
          { key: REV_KEY, value: Buffer.from('deleted') },
        ]);
        deleted = true;
        break;
      } catch (err) {
        if (!isConflict(err) || attempt >= 20) throw err;
      }
    }
    if (deleted) {
      await this.removeQuietly(
        (await this.entriesAll()).map((e) => ({ key: e.key, version: e.version })),
      );
    }
    return deleted;
  }

  async read(): Promise<Snapshot> {
    return (await this.readWith([])).snapshot;
  }

  async readWith(
    keys: readonly Buffer[],
  ): Promise<{ snapshot: Snapshot; extras: (TableEntry | undefined)[] }> {
    const [state, ...extras] = await this.guard(() =>
      this.store.tableGet(this.segment, [STATE_KEY, ...keys]),
    );
    if (state === undefined || deletedGeneration(state.value) !== undefined) throw this.notFound();
    return {
      snapshot: { state: decodeState(state.value, this.segment), version: state.version },
      extras,
    };
  }

  /** The version of the `rev` key: it moves with every change of the state. */
  async revision(): Promise<bigint | undefined> {
    const [rev] = await this.guard(() => this.store.tableGet(this.segment, [REV_KEY]));
    return rev?.version;
  }

  entries(keys: readonly Buffer[]): Promise<(TableEntry | undefined)[]> {
    return this.guard(() => this.store.tableGet(this.segment, keys));
  }

  /** Writes outside the state (heartbeats); conflicts are the caller's to handle. */
  write(updates: readonly TableUpdate[]): Promise<bigint[]> {
    return this.guard(() => this.store.tableUpdate(this.segment, updates));
  }

  async readCheckpoint(generation: number, name: string): Promise<CheckpointRecord | undefined> {
    const [entry] = await this.entries([checkpointKey(generation, name)]);
    return entry === undefined ? undefined : decodeCheckpointRecord(entry.value, this.segment);
  }

  /**
   * Removes keys (each only if it still has the version given, if one is), ignoring failures: a
   * left-over record is harmless.
   */
  async removeQuietly(keys: readonly (Buffer | TableKeyRef)[]): Promise<void> {
    const refs = keys.map((k) => (Buffer.isBuffer(k) ? { key: k } : k));
    for (let i = 0; i < refs.length; i += 100) {
      const batch = refs.slice(i, i + 100);
      try {
        await this.store.tableRemove(this.segment, batch);
      } catch {
        if (batch.length === 1) continue;
        // one changed key fails the whole batch: try them one by one
        for (const ref of batch) await this.removeQuietly([ref]);
      }
    }
  }

  /** Every entry of the table except the state's own. */
  async entriesAll(): Promise<TableEntry[]> {
    const out: TableEntry[] = [];
    let token: Buffer | undefined;
    for (;;) {
      const page = await this.guard(() => this.store.tableReadEntries(this.segment, token, 200));
      if (page.entries.length === 0) break;
      for (const e of page.entries) {
        if (!e.key.equals(STATE_KEY) && !e.key.equals(REV_KEY)) out.push(e);
      }
      token = page.continuationToken;
    }
    return out;
  }

  /**
   * Applies `fn` to the current state and writes the result conditionally, re-reading and
   * re-applying on conflicts. `fn` must be pure: it may run several times.
   */
  async update<R>(
    fn: (state: GroupState, extras: readonly (TableEntry | undefined)[]) => Update<R>,
    options: UpdateOptions = {},
  ): Promise<UpdateOutcome<R>> {
    const readKeys = options.readKeys ?? [];
    let snapshot = readKeys.length === 0 ? options.cached : undefined;
    let extras: (TableEntry | undefined)[] = [];
    for (let attempt = 0; ; attempt++) {
      if (snapshot === undefined) {
        const read = await this.readWith(readKeys);
        snapshot = read.snapshot;
        extras = read.extras;
      }
      const t = fn(snapshot.state, extras);
      if (t.state === undefined) {
        return { snapshot, result: t.result, written: false, writeVersions: [] };
      }
      const by = options.initiator !== undefined ? { by: options.initiator } : {};
      const generation = snapshot.state.generation;
      const updates: TableUpdate[] = [
        { key: STATE_KEY, value: encodeState(t.state), version: snapshot.version },
        { key: REV_KEY, value: Buffer.from(String(t.state.generation)) },
      ];
      const completed = new Set(t.effects.completed.map((c) => c.name));
      for (const name of t.effects.initiated) {
        if (completed.has(name)) continue;
        updates.push({
          key: checkpointKey(generation, name),
          value: encodeCheckpointRecord({ status: 'pending', ...by }),
          version: TABLE_KEY_MUST_NOT_EXIST,
        });
      }
      for (const c of t.effects.completed) {
        const initiatedNow = t.effects.initiated.includes(c.name);
        updates.push({
          key: checkpointKey(generation, c.name),
          value: encodeCheckpointRecord({
            status: 'complete',
            positions: c.positions,
            ...(initiatedNow ? by : {}),
          }),
          ...(initiatedNow ? { version: TABLE_KEY_MUST_NOT_EXIST } : {}),
        });
      }
      for (const name of t.effects.cancelled) {
        updates.push({
          key: checkpointKey(generation, name),
          value: encodeCheckpointRecord({ status: 'cancelled' }),
        });
      }
      const firstWrite = updates.length;
      updates.push(...(t.writes ?? []));
      try {
        const versions = await this.guard(() => this.store.tableUpdate(this.segment, updates));
        if (t.effects.forgotten.length > 0) {
          await this.removeQuietly(t.effects.forgotten.map((n) => checkpointKey(generation, n)));
        }
        return {
          snapshot: { state: t.state, version: versions[0]! },
          result: t.result,
          written: true,
          writeVersions: versions.slice(firstWrite),
        };
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (attempt + 1 >= MAX_ATTEMPTS) {
          throw new TributaryError(
            'CONDITIONAL_CHECK_FAILED',
            `reader group ${this.scope}/${this.group}: state update lost ${MAX_ATTEMPTS} races in a row`,
            { retryable: true, cause: err },
          );
        }
        snapshot = undefined;
        await sleep(Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
      }
    }
  }
}
