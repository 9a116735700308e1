import { randomUUID } from 'node:crypto';
import { TributaryError } from '../../../errors.js';
import { checkName, checkOptions, checkSerializer } from '../arguments.js';
import type { Controller } from '../../controller/controller.js';
import { streamKey } from '../../controller/types.js';
import { parseSegmentName, validateName } from '../../protocol/index.js';
import type { SegmentStore } from '../../segment/segment-store.js';
import type { Serializer } from '../serializer.js';
import type { StreamCut } from '../stream-cut.js';
import { Checkpoint } from './checkpoint.js';
import { cancelCheckpoints, initiateCheckpoint, validateCheckpointName } from './checkpoints.js';
import { isEndOfData } from './completion.js';
import {
  EventStreamReader,
  type EventReaderOptions,
  type ReaderPosition,
} from './event-stream-reader.js';
import {
  positionsOf,
  segmentsOf,
  unchanged,
  type GroupState,
  type SegmentKey,
} from './group-state.js';
import { LivenessTracker } from './liveness.js';
import { addReader, initialState, resetState } from './membership.js';
import { takeDeadReadersOffline, takeReaderOffline } from './offline.js';
import {
  parseReaderGroupConfig,
  type ReaderGroupConfig,
  type ReaderGroupConfigInput,
} from './reader-group-config.js';
import { resolveStart } from './segment-ranges.js';
import {
  checkpointKey,
  decodeCheckpointRecord,
  decodeReaderRecord,
  encodeReaderRecord,
  GroupStateTable,
  readerKey,
} from './state-table.js';

/**
 * A reader group: readers that share the segments of one or more streams, each segment read by
 * one reader at a time, with checkpoints that give the position of every segment at a point every
 * reader passed. The state is one table segment (state-table.ts), changed only by optimistic
 * conditional updates; this object holds nothing but names, so any number of them (in any process)
 * may manage the same group.
 */

/** What a reader group needs of a client (a PravegaClient has both). */
export interface ReaderGroupClient {
  readonly controller: Controller;
  readonly segmentStore: SegmentStore;
}

export interface CheckpointWaitOptions {
  /** give up waiting after this long (default 60 000 ms, or none when `signal` is given) */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_CHECKPOINT_TIMEOUT_MS = 60_000;

export class ReaderGroup {
  private readonly table: GroupStateTable;

  private constructor(
    private readonly controller: Controller,
    private readonly store: SegmentStore,
    readonly scope: string,
    readonly name: string,
  ) {
    this.table = new GroupStateTable(store, scope, name);
  }

  /** `scope/name` */
  get scopedName(): string {
    return `${this.scope}/${this.name}`;
  }

  /** Creates a group. READER_GROUP_EXISTS if one of that name exists in the scope. */
  static async create(
    client: ReaderGroupClient,
    scope: string,
    name: string,
    config: ReaderGroupConfigInput,
  ): Promise<ReaderGroup> {
    validateName('scope', scope);
    validateName('reader group', name);
    const parsed = parseReaderGroupConfig(config);
    const group = new ReaderGroup(client.controller, client.segmentStore, scope, name);
    const { start, ranges } = await resolveStart(client.controller, parsed);
    await group.table.create(initialState(parsed, 0, start, ranges));
    return group;
  }

  /** Opens an existing group. READER_GROUP_NOT_FOUND if there is none. */
  static async get(client: ReaderGroupClient, scope: string, name: string): Promise<ReaderGroup> {
    validateName('scope', scope);
    validateName('reader group', name);
    const group = new ReaderGroup(client.controller, client.segmentStore, scope, name);
    await group.table.read();
    return group;
  }

  private async state(): Promise<GroupState> {
    return (await this.table.read()).state;
  }

  async getConfig(): Promise<ReaderGroupConfig> {
    return (await this.state()).config;
  }

  /** Bumped by every reset. */
  async getGeneration(): Promise<number> {
    return (await this.state()).generation;
  }

  async getOnlineReaders(): Promise<string[]> {
    return [...(await this.state()).members.keys()].sort();
  }

  /** Who reads what now: segment (qualified name) → reader, and the segments nobody owns. */
  async getAssignments(): Promise<{
    readonly assigned: ReadonlyMap<string, string>;
    readonly unassigned: readonly string[];
  }> {
    const state = await this.state();
    return {
      assigned: new Map([...state.assigned].map(([key, a]) => [key, a.reader])),
      unassigned: [...state.unassigned.keys()],
    };
  }

  /** Names of the checkpoints initiated and neither completed nor cancelled, oldest first. */
  async getOutstandingCheckpoints(): Promise<string[]> {
    return (await this.state()).checkpoints.map((c) => c.name);
  }

  /** Every segment of every stream has been read (sealed streams, or end cuts reached). */
  async isEndOfData(): Promise<boolean> {
    return isEndOfData(await this.state());
  }

  /**
   * A new reader joins the group. Reader ids are unique among the readers online
   * (ILLEGAL_STATE otherwise; take a dead reader offline first).
   */
  async createReader<T>(
    readerId: string,
    serializer: Serializer<T>,
    options: EventReaderOptions = {},
  ): Promise<EventStreamReader<T>> {
    checkName('createReader', 'readerId', 'reader', readerId);
    checkSerializer('createReader', serializer);
    checkOptions('createReader', options);
    const session = randomUUID();
    const out = await this.table.update((s) => {
      const t = addReader(s, readerId, session);
      const record = encodeReaderRecord({
        generation: s.generation,
        session,
        offline: false,
        positions: new Map(),
      });
      return { ...t, writes: [{ key: readerKey(readerId), value: record }] };
    });
    let heartbeatVersion = out.writeVersions[0];
    if (heartbeatVersion === undefined) {
      // an earlier attempt of this join was written: find the record it wrote
      const [entry] = await this.table.entries([readerKey(readerId)]);
      if (entry === undefined) {
        throw new TributaryError('READER_NOT_IN_GROUP', `reader ${readerId} lost its record`);
      }
      heartbeatVersion = entry.version;
    }
    return new EventStreamReader<T>(
      {
        controller: this.controller,
        store: this.store,
        table: this.table,
        readerId,
        session,
        snapshot: out.snapshot,
        heartbeatVersion,
      },
      serializer,
      options,
    );
  }

  /**
   * Declares a reader offline (it crashed, or will not be called again): its segments go back to
   * the group at `lastPosition` (segment → offset, e.g. a `getPosition()` it reported) or, for
   * segments not in it, at the last completed checkpoint — never before the offset at which the
   * reader took a segment over (`'where-acquired'`: exactly there). Checkpoints waiting for it get its part filled with the same
   * positions. A reader still running fails with READER_NOT_IN_GROUP at its next state update.
   * @returns false if it was not online
   */
  async readerOffline(
    readerId: string,
    lastPosition?: ReaderPosition | 'where-acquired',
  ): Promise<boolean> {
    let positions = lastPosition;
    if (positions === 'where-acquired') {
      // a dead reader takes no segment: what it owns now is what it will own in the update
      const state = await this.state();
      positions = new Map(segmentsOf(state, readerId).map((key) => [key, 0n]));
    }
    const out = await takeReaderOffline(this.table, readerId, { lastPositions: positions });
    return out.result;
  }

  /**
   * Starts checkpoint `name` and resolves with it once every reader online now has passed its
   * marker (readers offline meanwhile count as passed, at the positions their segments were
   * released at). Rejects with CHECKPOINT_LIMIT when `maxOutstandingCheckpoints` are outstanding,
   * ILLEGAL_ARGUMENT for a name in use, CHECKPOINT_FAILED when it is cancelled or the group reset.
   * A timeout (TIMEOUT) or abort (CANCELLED) abandons only the wait: the checkpoint stays
   * outstanding and may still complete ({@link getCheckpoint}); cancel it to drop it.
   * While waiting, readers that stopped heartbeating are taken offline.
   */
  async initiateCheckpoint(name: string, options: CheckpointWaitOptions = {}): Promise<Checkpoint> {
    validateCheckpointName(name);
    const timeoutMs =
      options.timeoutMs ??
      (options.signal !== undefined ? Infinity : DEFAULT_CHECKPOINT_TIMEOUT_MS);
    const deadline = Date.now() + timeoutMs;
    const token = randomUUID();
    let generation = (await this.table.read()).state.generation;
    let outcome;
    for (;;) {
      const expected = generation;
      outcome = await this.table.update(
        (s, extras) => {
          if (s.generation !== expected) return unchanged('regenerate' as const);
          const existing = extras[0];
          if (existing !== undefined) {
            const record = decodeCheckpointRecord(existing.value, this.table.segment);
            if (record.status !== 'cancelled' && record.by === token) {
              return unchanged('mine' as const); // an earlier attempt of this call was written
            }
            throw new TributaryError(
              'ILLEGAL_ARGUMENT',
              `checkpoint name ${JSON.stringify(name)} is already used in reader group ${this.scopedName}`,
            );
          }
          return initiateCheckpoint(s, name);
        },
        { readKeys: [checkpointKey(expected, name)], initiator: token },
      );
      if (outcome.result !== 'regenerate') break;
      generation = outcome.snapshot.state.generation;
    }
    const state = outcome.snapshot.state;
    return this.awaitCheckpoint(state, name, deadline, options.signal);
  }

  private async awaitCheckpoint(
    initial: GroupState,
    name: string,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Checkpoint> {
    const generation = initial.generation;
    const config = initial.config;
    const tracker = new LivenessTracker(config.readerTimeoutMs);
    let nextSweep = Date.now();
    for (;;) {
      const record = await this.table.readCheckpoint(generation, name);
      if (record?.status === 'complete') {
        return Checkpoint.fromSegments(
          this.scopedName,
          name,
          record.positions,
          config.streams.map((s) => s.stream),
        );
      }
      if (record === undefined || record.status === 'cancelled') {
        throw new TributaryError(
          'CHECKPOINT_FAILED',
          `checkpoint ${name} of reader group ${this.scopedName} was cancelled ` +
            `(cancelOutstandingCheckpoints, or the group was reset)`,
          { details: { checkpoint: name } },
        );
      }
      if (Date.now() >= nextSweep) {
        nextSweep = Date.now() + config.heartbeatIntervalMs;
        const state = await this.state();
        const waitingFor = state.checkpoints.find((c) => c.name === name)?.waitingFor ?? [];
        await takeDeadReadersOffline(this.table, tracker, waitingFor);
      }
      await pause(config.refreshIntervalMs, deadline, signal, () =>
        signal?.aborted === true
          ? new TributaryError(
              'CANCELLED',
              `stopped waiting for checkpoint ${name}; it stays outstanding and may still complete`,
              { details: { checkpoint: name } },
            )
          : new TributaryError(
              'TIMEOUT',
              `checkpoint ${name} of reader group ${this.scopedName} did not complete in time; ` +
                `it stays outstanding and may still complete`,
              { retryable: true, details: { checkpoint: name } },
            ),
      );
    }
  }

  /** A completed checkpoint of the current generation, if still on record (the last 16 are). */
  async getCheckpoint(name: string): Promise<Checkpoint | undefined> {
    const state = await this.state();
    const record = await this.table.readCheckpoint(state.generation, name);
    if (record?.status !== 'complete') return undefined;
    return Checkpoint.fromSegments(
      this.scopedName,
      name,
      record.positions,
      state.config.streams.map((s) => s.stream),
    );
  }

  /**
   * Cancels every outstanding checkpoint, or those `which` picks by name (e.g. one process's
   * own, leaving those another process has started since); their waiters fail with
   * CHECKPOINT_FAILED. @returns the names cancelled
   */
  async cancelOutstandingCheckpoints(which?: (name: string) => boolean): Promise<string[]> {
    return (await this.table.update((s) => cancelCheckpoints(s, which))).result;
  }

  /**
   * Starts the group over from `config` (default: its current config) — from the configured start
   * cuts, or the heads of the streams. Works with or without readers online: every reader online
   * is out (READER_NOT_IN_GROUP at its next state update; new readers join), outstanding
   * checkpoints are cancelled, and the generation is bumped.
   */
  async reset(config?: ReaderGroupConfigInput): Promise<void> {
    const parsed = config === undefined ? await this.getConfig() : parseReaderGroupConfig(config);
    const { start, ranges } = await resolveStart(this.controller, parsed);
    await this.replaceState((s) => resetState(s, parsed, start, ranges));
  }

  /**
   * Starts the group over from a checkpoint: readers read exactly the events after it. The group's
   * config (streams, end cuts, settings) stays. Same effects on readers online as {@link reset}.
   */
  async resetToCheckpoint(checkpoint: Checkpoint): Promise<void> {
    const config = await this.getConfig();
    const mine = new Set(config.streams.map((s) => streamKey(s.stream)));
    const theirs = new Set(checkpoint.positions.keys());
    if (mine.size !== theirs.size || [...mine].some((k) => !theirs.has(k))) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `checkpoint ${checkpoint.name} covers ${[...theirs].join(', ')}, ` +
          `but reader group ${this.scopedName} reads ${[...mine].join(', ')}`,
      );
    }
    const { start, ranges } = await resolveStart(this.controller, config, checkpoint.positions);
    await this.replaceState((s) => resetState(s, config, start, ranges));
  }

  private async replaceState(fn: Parameters<GroupStateTable['update']>[0]): Promise<void> {
    const out = await this.table.update(fn);
    // records of readers and checkpoints of earlier generations are of no use any more
    const generation = out.snapshot.state.generation;
    const stale = (await this.table.entriesAll())
      .filter((e) => {
        const key = e.key.toString('utf8');
        if (key.startsWith('checkpoint/')) return !key.startsWith(`checkpoint/${generation}/`);
        // a reader may have joined the new generation already
        return (decodeReaderRecord(e.value)?.generation ?? -1) < generation;
      })
      .map((e) => ({ key: e.key, version: e.version }));
    await this.table.removeQuietly(stale);
  }

  /**
   * Where the group stands now, per stream (`scope/stream`): unassigned segments at their offsets,
   * assigned ones at the position their reader last reported (heartbeat), or where it took them
   * over. Not a checkpoint: readers are not synchronised.
   */
  async getStreamCuts(): Promise<Map<string, StreamCut>> {
    const state = await this.state();
    const reported = await this.reportedPositions(state);
    const out = new Map<string, StreamCut>();
    for (const s of state.config.streams) {
      out.set(streamKey(s.stream), { stream: s.stream, positions: new Map() });
    }
    for (const [segment, offset] of positionsOf(state, reported)) {
      const p = parseSegmentName(segment);
      (out.get(streamKey(p))?.positions as Map<bigint, bigint> | undefined)?.set(
        p.segmentId,
        offset,
      );
    }
    return out;
  }

  private async reportedPositions(state: GroupState): Promise<Map<SegmentKey, bigint>> {
    const readers = [...state.members.keys()];
    const entries = readers.length === 0 ? [] : await this.table.entries(readers.map(readerKey));
    const out = new Map<SegmentKey, bigint>();
    readers.forEach((reader, i) => {
      const entry = entries[i];
      const record = entry === undefined ? undefined : decodeReaderRecord(entry.value);
      if (record === undefined || record.session !== state.members.get(reader)?.session) return;
      for (const [segment, offset] of record.positions) {
        if (state.assigned.get(segment)?.reader === reader) out.set(segment, offset);
      }
    });
    return out;
  }

  /**
   * Bytes not read yet, estimated from the positions of {@link getStreamCuts} and the segments'
   * lengths (successors not readable yet count whole; end cuts bound).
   */
  async unreadBytes(): Promise<bigint> {
    let total = 0n;
    for (const bytes of (await this.unreadBytesByStream()).values()) total += bytes;
    return total;
  }

  /**
   * {@link unreadBytes} per stream (`scope/stream`, every stream of the group): the stream's
   * tail (segment lengths read now, bounded by end cuts) minus the group's position (each
   * reader's last heartbeat, at most one heartbeat interval old).
   */
  async unreadBytesByStream(): Promise<Map<string, bigint>> {
    const state = await this.state();
    const out = new Map<string, bigint>();
    for (const s of state.config.streams) out.set(streamKey(s.stream), 0n);
    const positions = positionsOf(state, await this.reportedPositions(state));
    for (const key of state.futures.keys()) positions.set(key, 0n);
    for (const key of state.completed.keys()) positions.delete(key);
    const sizes = await Promise.all(
      [...positions].map(async ([segment, offset]) => {
        const info = await this.store.getInfo(segment);
        const p = parseSegmentName(segment);
        const end = state.config.streams
          .find((s) => s.stream.scope === p.scope && s.stream.stream === p.stream)
          ?.end?.positions.get(p.segmentId);
        const until = end !== undefined && end < info.length ? end : info.length;
        return { stream: streamKey(p), bytes: until > offset ? until - offset : 0n };
      }),
    );
    for (const { stream, bytes } of sizes) out.set(stream, (out.get(stream) ?? 0n) + bytes);
    return out;
  }

  /** Deletes the group's state. Readers still online fail with READER_GROUP_NOT_FOUND. */
  async delete(): Promise<boolean> {
    return this.table.delete();
  }
}

/** Waits `ms` (at most until `deadline`); rejects with `error()` when the deadline or signal hits. */
function pause(
  ms: number,
  deadline: number,
  signal: AbortSignal | undefined,
  error: () => TributaryError,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(error());
      return;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      reject(error());
      return;
    }
    const expire = left <= ms;
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        if (expire) reject(error());
        else resolve();
      },
      Math.min(ms, left),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(error());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
