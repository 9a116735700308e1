import { z } from 'zod';
import { TributaryError, hasErrorCode, isRetryable } from '../../../errors.js';
import type { Controller } from '../../controller/controller.js';
import { parseSegmentName, segmentName } from '../../protocol/index.js';
import type { SegmentStore } from '../../segment/segment-store.js';
import { parseConfig } from '../../../config.js';
import type { Serializer } from '../serializer.js';
import {
  acquireCount,
  acquireSegments,
  releaseSegments,
  surplusCount,
  surplusShare,
} from './assignment.js';
import { pendingCheckpointFor, recordCheckpoint } from './checkpoints.js';
import {
  completeSegments,
  isEndOfData,
  predecessorsToLocate,
  type SegmentCompletion,
} from './completion.js';
import {
  endOffsetOf,
  requireMember,
  segmentsOf,
  unchanged,
  type GroupState,
  type SegmentKey,
} from './group-state.js';
import { LivenessTracker } from './liveness.js';
import { takeDeadReadersOffline, takeReaderOffline } from './offline.js';
import { OwnedSegment, type PayloadRun, type ReadEvent } from './owned-segment.js';
import { SegmentRanges } from './segment-ranges.js';
import {
  decodeReaderRecord,
  encodeReaderRecord,
  readerKey,
  type GroupStateTable,
  type Snapshot,
} from './state-table.js';

/**
 * A reader in a reader group. `readBatch` hands out the events of the segments this reader owns,
 * many per call, round robin over its segments; between calls (never per event) the reader looks
 * at the group's state every `refreshIntervalMs`: it surfaces checkpoint markers, records its part
 * of a checkpoint when it is called again after a marker, completes segments read to their end
 * (successors become readable once all their predecessors are done), gives back segments above its
 * fair share, takes unassigned ones, heartbeats, and takes readers that stopped heartbeating
 * offline.
 *
 * The reader only works while it is called: a reader whose caller stops calling stops
 * heartbeating and is taken offline by the others after `readerTimeoutMs`, its segments released
 * at the last completed checkpoint. A reader that was taken offline, or whose group was reset, fails
 * with READER_NOT_IN_GROUP; a new reader must join.
 */

export const EventReaderOptionsSchema = z
  .object({
    /**
     * bytes asked per segment read. Reads and prefetch are small on purpose: events fetched ahead
     * live long enough to leave V8's young generation, and then (with the 1 MiB read buffers they
     * point into) only a full GC frees them. Measured with bench/job.ts (real server,
     * at-least-once, 1 M × 100 B, 4 segments): 1 MiB reads / 4 MiB prefetch peaked at 428–434 MiB
     * RSS, 256 KiB / 1 MiB at 262–340 MiB, at the same events/s.
     */
    readSize: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    /** bytes fetched ahead per segment */
    prefetchBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
  })
  .strict();

export type EventReaderOptions = z.input<typeof EventReaderOptionsSchema>;

export interface ReadBatchOptions {
  /** at most this many events (default 1000) */
  readonly maxEvents?: number;
  /** wait at most this long for an event (default 1000 ms, or unbounded when `signal` is given) */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * What a read returns:
 * - `events`: one or more events (none when the wait ran out);
 * - `checkpoint`: the marker of a checkpoint — every event returned before it is before the
 *   checkpoint, every event after it is after; the reader records its part when it is called again;
 * - `truncated`: the bytes `[from, to)` of `segment` were truncated away (retention, or a truncation
 *   at a stream cut) before this reader read them; reading goes on at `to`. The events in the gap
 *   are lost to this reader — as the Java reader's TruncatedDataException, the caller decides
 *   whether that is fatal;
 * - `end`: every segment of every stream of the group has been read (sealed, or end cuts reached).
 */
export type ReadBatch<T> =
  | { readonly kind: 'events'; readonly events: readonly ReadEvent<T>[] }
  | { readonly kind: 'checkpoint'; readonly name: string }
  | TruncatedData
  | { readonly kind: 'end' };

/**
 * What {@link EventStreamReader.readRuns} returns: as {@link ReadBatch}, the events as runs of raw
 * payloads per segment (`runs`: none when the wait ran out), not deserialized.
 */
export type ReadRuns =
  | { readonly kind: 'runs'; readonly runs: readonly PayloadRun[] }
  | { readonly kind: 'checkpoint'; readonly name: string }
  | TruncatedData
  | { readonly kind: 'end' };

export type ReadOne<T> =
  | { readonly kind: 'event'; readonly event: ReadEvent<T> }
  | { readonly kind: 'checkpoint'; readonly name: string }
  | TruncatedData
  | { readonly kind: 'end' }
  | { readonly kind: 'timeout' };

export interface TruncatedData {
  readonly kind: 'truncated';
  /** qualified segment name */
  readonly segment: string;
  readonly from: bigint;
  readonly to: bigint;
}

/** Segment (qualified name) → offset. */
export type ReaderPosition = ReadonlyMap<string, bigint>;

/** A segment (qualified name) at an offset: where a reader took it over or gave it back. */
export interface SegmentAt {
  readonly segment: string;
  readonly offset: bigint;
}

/** See {@link EventStreamReader.onAcquired}. */
export type AcquiredHook = (acquired: readonly SegmentAt[]) => Promise<void>;

/** See {@link EventStreamReader.onReleased}. */
export type ReleasedHook = (released: readonly SegmentAt[], marker: string) => void;

/** See {@link EventStreamReader.onHeld}: segments frozen at `marker` to be given back, or kept after all. */
export type HeldHook = (
  change:
    | { readonly held: readonly string[]; readonly marker: string }
    | { readonly kept: readonly string[] },
) => void;

interface Marker {
  readonly name: string;
  readonly positions: ReadonlyMap<SegmentKey, bigint>;
}

export interface ReaderJoin {
  readonly controller: Controller;
  readonly store: SegmentStore;
  readonly table: GroupStateTable;
  readonly readerId: string;
  readonly session: string;
  readonly snapshot: Snapshot;
  readonly heartbeatVersion: bigint;
}

export class EventStreamReader<T> {
  readonly readerId: string;
  /** `scope/group` */
  readonly readerGroup: string;
  private readonly controller: Controller;
  private readonly store: SegmentStore;
  private readonly table: GroupStateTable;
  private readonly session: string;
  private readonly generation: number;
  private readonly options: z.output<typeof EventReaderOptionsSchema>;
  private readonly ranges: SegmentRanges;
  private readonly tracker: LivenessTracker;
  private snapshot: Snapshot;
  private seenRevision: bigint | undefined;
  private heartbeatVersion: bigint;

  private readonly segments = new Map<SegmentKey, OwnedSegment>();
  private order: OwnedSegment[] = [];
  private roundRobin = 0;

  /** a checkpoint waits for this reader; its marker is returned by the next read */
  private pendingMarker: string | undefined;
  /** the marker returned last; its part is recorded when the reader is called again */
  private passedMarker: Marker | undefined;
  private readonly toRecord: Marker[] = [];
  /** see {@link EventStreamReader.gateAcquisitions} */
  private acquireGate: (() => boolean) | undefined;
  /** see {@link EventStreamReader.gateReleases} */
  private releaseGate: ((checkpoint: string) => boolean | 'void') | undefined;
  /** segments to give back, frozen at the positions of `marker` until the gate opens for it */
  private held: { marker: string; keys: SegmentKey[] } | undefined;
  /** see {@link EventStreamReader.onAcquired} */
  private acquiredHook: AcquiredHook | undefined;
  /** see {@link EventStreamReader.onReleased} */
  private releasedHook: ReleasedHook | undefined;
  /** see {@link EventStreamReader.onHeld} */
  private heldHook: HeldHook | undefined;
  /** acquired segments whose hook has not resolved yet: nothing is handed out of them */
  private readonly awaitingHook = new Set<SegmentKey>();
  /** the acquisition hooks run one after the other, in the order of the acquisitions */
  private hookChain: Promise<void> = Promise.resolve();

  private maintenance: Promise<void> | undefined;
  private nextMaintenanceAt = 0;
  private urgent = true;
  private nextHeartbeatAt: number;
  private nextSweepAt: number;
  private transientSince: number | undefined;
  private endOfData = false;
  private failure: Error | undefined;
  private reading = false;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    join: ReaderJoin,
    private readonly serializer: Serializer<T>,
    options: EventReaderOptions = {},
  ) {
    this.options = parseConfig(EventReaderOptionsSchema, options, 'event reader options');
    this.readerId = join.readerId;
    this.readerGroup = `${join.table.scope}/${join.table.group}`;
    this.controller = join.controller;
    this.store = join.store;
    this.table = join.table;
    this.session = join.session;
    this.snapshot = join.snapshot;
    this.generation = join.snapshot.state.generation;
    this.heartbeatVersion = join.heartbeatVersion;
    this.ranges = new SegmentRanges(join.controller);
    const config = join.snapshot.state.config;
    this.tracker = new LivenessTracker(config.readerTimeoutMs);
    this.nextHeartbeatAt = Date.now() + config.heartbeatIntervalMs;
    this.nextSweepAt = Date.now() + config.heartbeatIntervalMs;
  }

  private get config(): GroupState['config'] {
    return this.snapshot.state.config;
  }

  /** Where this reader stands: every segment it owns, at the offset after the last event handed out. */
  getPosition(): ReaderPosition {
    const out = new Map<SegmentKey, bigint>();
    for (const s of this.segments.values()) out.set(s.key, s.position);
    return out;
  }

  /**
   * From now on, segments above this reader's fair share are given back only at the position of
   * a checkpoint marker this reader returned, and only once `gate(markerName)` says that the
   * caller's output up to that marker is durable for good (e.g. the checkpoint completed across
   * every process of a job). Meanwhile they are frozen there: nothing more is handed out of them.
   * Without a gate, surplus is given back between checkpoints at the current position — which is
   * only exactly-once when the caller's output up to any moment survives the caller's crash.
   * `gate` may answer `'void'`: that marker's checkpoint will never count (it was aborted); the
   * frozen segments are read on (told as kept) and the surplus is frozen again at the next marker.
   */
  gateReleases(gate: (checkpoint: string) => boolean | 'void'): void {
    this.releaseGate = gate;
  }

  /**
   * This reader takes unassigned segments only while `gate()` says yes (e.g. once the process it
   * runs in is known to the others, who must be able to act for it if it dies).
   */
  gateAcquisitions(gate: () => boolean): void {
    this.acquireGate = gate;
  }

  /**
   * `hook` is told of every segment this reader takes over (an unassigned one, one given back by
   * another reader, one of a reader taken offline, a successor of a finished one), with the offset
   * it reads on from, and is awaited before any event of those segments is handed out: the
   * segments it owned before go on meanwhile, but a checkpoint marker waits for it (what the hook
   * loads belongs before the marker). The calls come one after the other, in the order of the
   * acquisitions, each segment once per acquisition. A rejection fails the reader: the next read
   * throws it.
   */
  onAcquired(hook: AcquiredHook): void {
    this.acquiredHook = hook;
  }

  /**
   * `hook` is told of the segments this reader gave back at a gated release (see
   * {@link gateReleases}), with the offsets of checkpoint `marker` where the next owner reads on,
   * once the release is written. A throw fails the reader.
   */
  onReleased(hook: ReleasedHook): void {
    this.releasedHook = hook;
  }

  /**
   * With gated releases (see {@link gateReleases}): `hook` is told `{ held, marker }` when
   * segments above this reader's share are frozen at the positions of checkpoint `marker`, as the
   * marker is returned (nothing more of them is handed out until they are given back), and
   * `{ kept }` when some are not given back after all (the share changed) and are read on. Those
   * given back are told to {@link onReleased}. A throw fails the reader.
   */
  onHeld(hook: HeldHook): void {
    this.heldHook = hook;
  }

  /** Segments this reader owns now. */
  get ownedSegments(): string[] {
    return [...this.segments.keys()];
  }

  /**
   * Events, a checkpoint marker, or the end of the group's data (see {@link ReadBatch}). Never
   * waits for more than one event: it returns what is there as soon as something is.
   */
  async readBatch(options: ReadBatchOptions = {}): Promise<ReadBatch<T>> {
    const events = await this.read(options, (max) => {
      const out = this.take(max);
      return out.length > 0 ? out : undefined;
    });
    return Array.isArray(events) ? { kind: 'events', events } : events;
  }

  /**
   * As {@link readBatch}, the events as runs of raw payloads, one per segment read from (no object
   * per event, no deserialization): for callers that move many small events.
   */
  async readRuns(options: ReadBatchOptions = {}): Promise<ReadRuns> {
    const runs = await this.read(options, (max) => {
      const out = this.takeRuns(max);
      return out.length > 0 ? out : undefined;
    });
    return Array.isArray(runs) ? { kind: 'runs', runs } : runs;
  }

  /** The loop of {@link readBatch}: `take` hands out up to `max` events, or undefined if none. */
  private async read<E>(
    options: ReadBatchOptions,
    take: (max: number) => E[] | undefined,
  ): Promise<
    | E[]
    | { readonly kind: 'checkpoint'; readonly name: string }
    | TruncatedData
    | { readonly kind: 'end' }
  > {
    if (this.closed) throw new TributaryError('CLOSED', `reader ${this.readerId} is closed`);
    if (this.reading) {
      throw new TributaryError('ILLEGAL_STATE', `reader ${this.readerId}: one read at a time`);
    }
    const maxEvents = options.maxEvents ?? 1000;
    if (!Number.isInteger(maxEvents) || maxEvents < 1) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `maxEvents must be a positive integer`);
    }
    const signal = options.signal;
    const timeoutMs = options.timeoutMs ?? (signal !== undefined ? Infinity : 1000);
    const deadline = Date.now() + timeoutMs;
    this.reading = true;
    try {
      if (this.passedMarker !== undefined) {
        // called again after a marker: the caller is past it
        this.toRecord.push(this.passedMarker);
        this.passedMarker = undefined;
        this.urgent = true;
      }
      for (;;) {
        if (this.failure !== undefined) throw this.failure;
        if (this.closed) throw new TributaryError('CLOSED', `reader ${this.readerId} is closed`);
        this.maybeMaintain();
        // a marker waits for the acquisition hooks still running: what they load belongs before it
        if (this.pendingMarker !== undefined && this.awaitingHook.size === 0) {
          const name = this.pendingMarker;
          this.pendingMarker = undefined;
          this.passedMarker = { name, positions: this.getPosition() };
          if (this.releaseGate !== undefined) this.holdSurplusAt(name);
          return { kind: 'checkpoint', name };
        }
        const gap = this.takeTruncation();
        if (gap !== undefined) return gap;
        const events = take(maxEvents);
        if (events !== undefined) return events;
        if (this.endOfData && this.segments.size === 0) return { kind: 'end' };
        const now = Date.now();
        if (now >= deadline || signal?.aborted === true) return [];
        const wakeAt =
          this.maintenance !== undefined || this.urgent
            ? deadline
            : Math.min(deadline, this.nextMaintenanceAt);
        await this.waitForActivity(wakeAt - now, signal);
      }
    } finally {
      this.reading = false;
    }
  }

  /** One event (or a marker, the end, or a timeout). Prefer {@link readBatch} for throughput. */
  async readNextEvent(timeoutMs = 1000): Promise<ReadOne<T>> {
    const r = await this.readBatch({ maxEvents: 1, timeoutMs });
    if (r.kind !== 'events') return r;
    const event = r.events[0];
    return event === undefined ? { kind: 'timeout' } : { kind: 'event', event };
  }

  private takeTruncation(): TruncatedData | undefined {
    for (const seg of this.order) {
      const gap = seg.takeTruncation();
      if (gap !== undefined) {
        return { kind: 'truncated', segment: seg.key, from: gap.from, to: gap.to };
      }
    }
    return undefined;
  }

  private take(maxEvents: number): ReadEvent<T>[] {
    const out: ReadEvent<T>[] = [];
    const deserialize = (payload: Buffer): T => this.serializer.deserialize(payload);
    this.roundRobinOver((seg) => {
      if (out.length >= maxEvents) return false;
      try {
        seg.take(maxEvents - out.length, out, deserialize);
      } catch (err) {
        if (out.length > 0) return false; // the bad event comes first in the next read
        throw err;
      }
      return true;
    });
    return out;
  }

  private takeRuns(maxEvents: number): PayloadRun[] {
    const out: PayloadRun[] = [];
    let left = maxEvents;
    this.roundRobinOver((seg) => {
      if (left <= 0) return false;
      const run = seg.takeRun(left);
      if (run !== null) {
        out.push(run);
        left -= run.payloads.length;
      }
      return true;
    });
    return out;
  }

  /**
   * Offers each owned segment with events to `take`, round robin from where the last call
   * stopped, until it returns false; pulls the others and notes the finished ones.
   */
  private roundRobinOver(take: (seg: OwnedSegment) => boolean): void {
    const n = this.order.length;
    if (n === 0) return;
    const first = this.roundRobin % n;
    this.roundRobin = first + 1;
    for (let i = 0; i < n; i++) {
      const seg = this.order[(first + i) % n]!;
      if (seg.available > 0) {
        if (!take(seg)) return;
      } else {
        seg.pull();
      }
      if (seg.finished && !seg.finishNoticed) {
        seg.finishNoticed = true;
        this.urgent = true; // complete it soon
      }
    }
  }

  private waitForActivity(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, 2_147_483_647));
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private readonly onActivity = (): void => {
    this.wake?.();
  };

  private readonly onSegmentError = (err: unknown): void => {
    this.failure ??= asError(err);
    this.wake?.();
  };

  // ---- group state upkeep ----

  private maybeMaintain(): void {
    if (this.maintenance !== undefined || this.closed || this.failure !== undefined) return;
    if (!this.urgent && Date.now() < this.nextMaintenanceAt) return;
    this.urgent = false;
    this.maintenance = this.maintain()
      .then(
        () => {
          this.transientSince = undefined;
        },
        (err: unknown) => this.onMaintenanceError(err),
      )
      .finally(() => {
        this.maintenance = undefined;
        this.nextMaintenanceAt = Date.now() + this.config.refreshIntervalMs;
        // work that came up meanwhile (a marker passed, a segment finished) goes on at once,
        // whether or not the caller is waiting in a read
        if (this.urgent) this.maybeMaintain();
        this.wake?.();
      });
  }

  private onMaintenanceError(err: unknown): void {
    if (this.closed) return;
    if (isRetryable(err)) {
      // connection trouble and lost races: try again at the next refresh, for a while
      const now = Date.now();
      this.transientSince ??= now;
      if (now - this.transientSince <= this.config.readerTimeoutMs) return;
    }
    this.failure ??= asError(err);
    if (hasErrorCode(err, 'READER_NOT_IN_GROUP', 'READER_GROUP_NOT_FOUND')) this.dropSegments();
  }

  private async maintain(): Promise<void> {
    // 1. the parts of checkpoints whose markers the caller has passed
    while (this.toRecord.length > 0) {
      const marker = this.toRecord[0]!;
      const out = await this.table.update(
        (s) => recordCheckpoint(s, this.readerId, this.session, marker.name, marker.positions),
        { cached: this.snapshot },
      );
      this.snapshot = out.snapshot;
      this.toRecord.shift();
    }
    // 2. the latest state, if it moved
    const revision = await this.table.revision();
    if (revision !== this.seenRevision) {
      this.snapshot = await this.table.read();
      this.seenRevision = revision;
    }
    this.checkMembership(this.snapshot.state);
    this.reconcile(this.snapshot.state);
    // 3. checkpoints first; segments change hands only when none waits for this reader
    const pending = pendingCheckpointFor(this.snapshot.state, this.readerId);
    if (
      this.pendingMarker !== undefined &&
      !this.snapshot.state.checkpoints.some((c) => c.name === this.pendingMarker)
    ) {
      this.pendingMarker = undefined; // cancelled before it was surfaced
    }
    if (pending !== undefined) {
      if (
        this.pendingMarker === undefined &&
        this.passedMarker?.name !== pending &&
        !this.toRecord.some((m) => m.name === pending)
      ) {
        this.pendingMarker = pending;
        this.wake?.();
      }
    } else if (this.pendingMarker === undefined && this.passedMarker === undefined) {
      await this.completeFinished();
      if (this.releaseGate === undefined) await this.releaseSurplus();
      else await this.releaseHeld(this.releaseGate);
      if (this.acquireGate?.() !== false) await this.acquire();
    }
    this.endOfData = isEndOfData(this.snapshot.state);
    const now = Date.now();
    if (now >= this.nextHeartbeatAt) await this.heartbeat();
    if (now >= this.nextSweepAt) {
      this.nextSweepAt = now + this.config.heartbeatIntervalMs;
      const others = [...this.snapshot.state.members.keys()].filter((r) => r !== this.readerId);
      const removed = await takeDeadReadersOffline(this.table, this.tracker, others);
      if (removed.length > 0) this.urgent = true;
    }
  }

  private checkMembership(state: GroupState): void {
    if (state.generation !== this.generation) {
      throw new TributaryError(
        'READER_NOT_IN_GROUP',
        `reader ${this.readerId}: reader group ${this.readerGroup} was reset ` +
          `(generation ${this.generation} → ${state.generation}); join again with a new reader`,
        { details: { reader: this.readerId, generation: state.generation } },
      );
    }
    requireMember(state, this.readerId, this.session);
  }

  /**
   * Makes the segments read here match the ones the state says this reader owns (they differ only
   * when a write was applied but its reply was lost).
   */
  private reconcile(state: GroupState): void {
    const owned = new Set(segmentsOf(state, this.readerId));
    let changed = false;
    for (const [key, seg] of this.segments) {
      if (!owned.has(key)) {
        seg.close();
        this.segments.delete(key);
        this.awaitingHook.delete(key);
        changed = true;
      }
    }
    const acquired: SegmentAt[] = [];
    for (const key of owned) {
      if (!this.segments.has(key)) {
        const offset = state.assigned.get(key)!.acquiredAt;
        this.open(key, offset, state);
        acquired.push({ segment: key, offset });
        changed = true;
      }
    }
    if (acquired.length > 0) this.announceAcquired(acquired);
    if (changed) this.rebuildOrder();
  }

  /** Segments handed out from: the owned ones, but those whose acquisition hook is still running. */
  private rebuildOrder(): void {
    this.order = [...this.segments.values()].filter((s) => !this.awaitingHook.has(s.key));
  }

  /** Holds newly acquired segments back until the acquisition hook has resolved for them. */
  private announceAcquired(acquired: readonly SegmentAt[]): void {
    const hook = this.acquiredHook;
    if (hook === undefined) return;
    for (const a of acquired) this.awaitingHook.add(a.segment);
    this.hookChain = this.hookChain
      .then(() => (this.failure === undefined && !this.closed ? hook(acquired) : undefined))
      .then(
        () => {
          for (const a of acquired) this.awaitingHook.delete(a.segment);
          this.rebuildOrder();
        },
        (err: unknown) => {
          this.failure ??= asError(err);
        },
      )
      .finally(() => this.wake?.());
  }

  private open(key: SegmentKey, offset: bigint, state: GroupState): void {
    const seg = new OwnedSegment(
      this.store,
      key,
      offset,
      endOffsetOf(state.config, key),
      this.options,
      this.onActivity,
      this.onSegmentError,
    );
    this.segments.set(key, seg);
  }

  private forget(keys: readonly SegmentKey[]): void {
    for (const key of keys) {
      this.segments.get(key)?.close();
      this.segments.delete(key);
      this.awaitingHook.delete(key);
    }
    this.rebuildOrder();
  }

  private async completeFinished(): Promise<void> {
    const finished = [...this.segments.values()].filter((s) => s.finished);
    if (finished.length === 0) return;
    const completions: SegmentCompletion[] = await Promise.all(
      finished.map(async (seg): Promise<SegmentCompletion> => {
        if (seg.endOffset !== undefined) {
          return { key: seg.key, end: seg.position, successors: 'terminal' };
        }
        const p = parseSegmentName(seg.key);
        const successors = await this.controller.getSuccessors({
          scope: p.scope,
          stream: p.stream,
          segmentId: p.segmentId,
        });
        return {
          key: seg.key,
          end: seg.position,
          successors: successors.map((s) => ({
            key: segmentName(p.scope, p.stream, s.segment.segment.segmentId),
            predecessors: s.predecessors.map((id) => segmentName(p.scope, p.stream, id)),
          })),
        };
      }),
    );
    let ranges = await this.ranges.locate(predecessorsToLocate(this.snapshot.state, completions));
    for (;;) {
      const known = ranges;
      const out = await this.table.update(
        (s) => {
          const missing = predecessorsToLocate(s, completions).filter((k) => !known.has(k));
          if (missing.length > 0) return unchanged({ missing });
          const t = completeSegments(s, this.readerId, this.session, completions, known);
          return { ...t, result: { missing } };
        },
        { cached: this.snapshot },
      );
      this.snapshot = out.snapshot;
      if (out.result.missing.length === 0) break;
      ranges = new Map([...known, ...(await this.ranges.locate(out.result.missing))]);
    }
    this.reconcile(this.snapshot.state);
  }

  private async releaseSurplus(): Promise<void> {
    if (surplusCount(this.snapshot.state, this.readerId) === 0) return;
    const candidates = [...this.segments.values()]
      .filter((s) => !s.finished)
      .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    // hand out nothing more from them while their release is being written
    for (const s of candidates) s.frozen = true;
    try {
      const out = await this.table.update(
        (s) =>
          releaseSegments(
            s,
            this.readerId,
            this.session,
            candidates.map((c) => ({ key: c.key, offset: c.position })),
          ),
        { cached: this.snapshot },
      );
      this.snapshot = out.snapshot;
      this.forget(out.result);
    } finally {
      for (const s of candidates) s.frozen = false;
    }
  }

  /** At a marker (gated releases): freezes the segments to give back at their marker positions. */
  private holdSurplusAt(marker: string): void {
    // still frozen where an earlier marker left them: the gate opens for that one (a later
    // checkpoint's completion covers it as well)
    if (this.held !== undefined) return;
    const count = surplusShare(this.snapshot.state, this.readerId);
    if (count === 0) return;
    const keys = [...this.segments.values()]
      .filter((s) => !s.finished)
      .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0))
      .slice(0, count)
      .map((s) => s.key);
    if (keys.length === 0) return;
    for (const key of keys) this.segments.get(key)!.frozen = true;
    this.held = { marker, keys };
    this.tellHeld({ held: keys, marker });
  }

  /** Reads on from the held segments; those still owned are told as kept. */
  private unfreezeHeld(): void {
    const kept: string[] = [];
    for (const key of this.held?.keys ?? []) {
      const seg = this.segments.get(key);
      if (seg === undefined) continue;
      seg.frozen = false;
      kept.push(key);
    }
    this.held = undefined;
    if (kept.length > 0) this.tellHeld({ kept });
  }

  private tellHeld(change: Parameters<HeldHook>[0]): void {
    const hook = this.heldHook;
    if (hook === undefined) return;
    try {
      hook(change);
    } catch (err) {
      this.failure ??= asError(err);
    }
  }

  /** Gives back the held segments once the gate opens for their marker (see gateReleases). */
  private async releaseHeld(gate: (checkpoint: string) => boolean | 'void'): Promise<void> {
    const held = this.held;
    if (held === undefined) return;
    if (surplusCount(this.snapshot.state, this.readerId) === 0) {
      this.unfreezeHeld(); // the share changed meanwhile: nothing to give back
      return;
    }
    const open = gate(held.marker);
    if (open === 'void') {
      this.unfreezeHeld(); // never given back at this marker: frozen again at the next one
      return;
    }
    if (!open) return;
    const candidates = held.keys
      .map((key) => this.segments.get(key))
      .filter((seg) => seg !== undefined)
      .map((seg) => ({ key: seg.key, offset: seg.position }));
    const out = await this.table.update(
      (s) => releaseSegments(s, this.readerId, this.session, candidates),
      { cached: this.snapshot },
    );
    this.snapshot = out.snapshot;
    this.forget(out.result);
    this.unfreezeHeld();
    const released = new Set(out.result);
    const hook = this.releasedHook;
    if (hook !== undefined && released.size > 0) {
      const given = candidates
        .filter((c) => released.has(c.key))
        .map((c) => ({ segment: c.key, offset: c.offset }));
      try {
        hook(given, held.marker);
      } catch (err) {
        this.failure ??= asError(err);
      }
    }
  }

  private async acquire(): Promise<void> {
    if (acquireCount(this.snapshot.state, this.readerId) === 0) return;
    const out = await this.table.update((s) => acquireSegments(s, this.readerId, this.session), {
      cached: this.snapshot,
    });
    this.snapshot = out.snapshot;
    this.reconcile(this.snapshot.state);
    if (out.result.length > 0) this.wake?.();
  }

  private async heartbeat(): Promise<void> {
    const record = encodeReaderRecord({
      generation: this.generation,
      session: this.session,
      offline: false,
      positions: this.getPosition(),
    });
    try {
      const [version] = await this.table.write([
        { key: readerKey(this.readerId), value: record, version: this.heartbeatVersion },
      ]);
      this.heartbeatVersion = version!;
      this.nextHeartbeatAt = Date.now() + this.config.heartbeatIntervalMs;
    } catch (err) {
      if (!hasErrorCode(err, 'TABLE_KEY_BAD_VERSION', 'TABLE_KEY_NOT_FOUND')) throw err;
      // someone else wrote our record (taken offline, or the group was reset) — or a retried
      // request of ours did
      this.snapshot = await this.table.read();
      this.checkMembership(this.snapshot.state);
      const [entry] = await this.table.entries([readerKey(this.readerId)]);
      const mine = entry === undefined ? undefined : decodeReaderRecord(entry.value);
      if (entry === undefined || mine?.session !== this.session || mine.offline) {
        throw new TributaryError(
          'READER_NOT_IN_GROUP',
          `reader ${this.readerId}: its record in ${this.readerGroup} was overwritten`,
        );
      }
      this.heartbeatVersion = entry.version;
    }
  }

  private dropSegments(): void {
    for (const s of this.segments.values()) s.close();
    this.segments.clear();
    this.awaitingHook.clear();
    this.order = [];
  }

  /**
   * Stops reading. By default the reader leaves the group: the part of a checkpoint whose marker it
   * returned is recorded, and its segments are released at its current position (they are read on
   * by the others from there). With `leaveGroup: false` the group is not told — as if the process
   * died: the others take the reader offline after `readerTimeoutMs` (or `readerOffline` does).
   */
  async close(options: { readonly leaveGroup?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.maintenance;
    const positions = this.getPosition();
    this.dropSegments();
    if (options.leaveGroup === false || this.failure !== undefined) return;
    if (this.passedMarker !== undefined) this.toRecord.push(this.passedMarker);
    try {
      for (const marker of this.toRecord) {
        const out = await this.table.update(
          (s) => recordCheckpoint(s, this.readerId, this.session, marker.name, marker.positions),
          { cached: this.snapshot },
        );
        this.snapshot = out.snapshot;
      }
      const out = await takeReaderOffline(this.table, this.readerId, {
        lastPositions: positions,
        session: this.session,
      });
      const tombstone = out.writeVersions[0];
      if (out.result && tombstone !== undefined) {
        await this.table.removeQuietly([{ key: readerKey(this.readerId), version: tombstone }]);
      }
    } catch (err) {
      // taken offline meanwhile (its part was filled then), or the group was reset or deleted
      if (hasErrorCode(err, 'READER_NOT_IN_GROUP', 'READER_GROUP_NOT_FOUND')) return;
      throw err;
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new TributaryError('INTERNAL', String(err), { cause: err });
}
