import type { Collector, KeyedContext, OnTimerContext, TimerService } from '../functions.js';
import { keyGroupRange, type Key } from '../key-groups.js';
import { keyGroupsWithin, type KeyGroupControl } from '../key-group-control.js';
import { HeapKeyedStateBackend, type KeyedStateBackend } from '../keyed-state.js';
import { BatchCollector, StreamOperator, type OperatorSnapshot } from '../operator.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../stream-element.js';
import { KeyedTimerService, type TimeDomain } from '../timer-service.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateValue } from '../../checkpoint/state-codec.js';
import { STATE_PIECES_DIR } from '../../checkpoint/checkpoint-storage.js';
import { TributaryError } from '../../errors.js';
import { LmdbKeyedStateBackend } from '../../state/disk/lmdb-keyed-state.js';
import { IncrementalSnapshots, readChains } from '../../state/incremental-snapshots.js';
import { fromStoredRef, type PieceRef } from '../../state/state-pieces.js';
import { checkUserStateName } from '../../state/state-sections.js';

/**
 * Base of operators on keyed streams: keyed state, keyed timers, and a context object reused for
 * every record (no allocation per record).
 */
export abstract class KeyedOperator<K extends Key, I, O> extends StreamOperator {
  protected backend!: KeyedStateBackend;
  protected timerService!: KeyedTimerService;
  /** Set when keyed state is checkpointed incrementally (see the job's `state.snapshots`). */
  private incremental: IncrementalSnapshots | undefined;
  protected currentWatermark = MIN_WATERMARK;
  protected readonly collector = new BatchCollector<O>();
  private currentTimestamp: number | undefined;
  private domain: TimeDomain = 'event-time';
  protected readonly context: OnTimerContext<K>;
  /** Collects with the current record's timestamp, or the event timer's, as default. */
  private readonly out: Collector<O> = {
    collect: (value, timestamp) =>
      this.collector.collect(
        value,
        timestamp ?? (this.domain === 'processing-time' ? undefined : this.currentTimestamp),
      ),
  };

  constructor(protected readonly keySelector: (value: I) => K) {
    super();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- getters below need the operator
    const self = this;
    const timers: TimerService = {
      currentProcessingTime: () => Date.now(),
      currentWatermark: () => self.keyWatermark(),
      registerEventTimeTimer: (ts) =>
        self.timerService.register('event-time', self.backend.currentKey, ts),
      deleteEventTimeTimer: (ts) =>
        self.timerService.delete('event-time', self.backend.currentKey, ts),
      registerProcessingTimeTimer: (ts) =>
        self.timerService.register('processing-time', self.backend.currentKey, ts),
      deleteProcessingTimeTimer: (ts) =>
        self.timerService.delete('processing-time', self.backend.currentKey, ts),
    };
    this.context = {
      get key() {
        return self.backend.currentKey as K;
      },
      get timestamp() {
        return self.currentTimestamp;
      },
      get timeDomain() {
        return self.domain;
      },
      timers,
      valueState: (name) => self.backend.valueState(checkUserStateName(name)),
      listState: (name) => self.backend.listState(checkUserStateName(name)),
      mapState: (name) => self.backend.mapState(checkUserStateName(name)),
    };
  }

  override async open(): Promise<void> {
    const settings = this.ctx.checkpointing.keyedState;
    this.backend =
      settings?.backend === 'lmdb'
        ? await LmdbKeyedStateBackend.open({
            maxParallelism: this.ctx.maxParallelism,
            dir: settings.dir ?? join(tmpdir(), 'tributary-state'),
            label: `${this.ctx.uid}-${this.ctx.subtask}`,
            flushEntries: settings.writeBatchEntries,
            writeCacheEntries: settings.writeCacheEntries,
            cacheEntries: settings.cacheEntries,
          })
        : new HeapKeyedStateBackend(this.ctx.maxParallelism);
    this.timerService = new KeyedTimerService(
      this.ctx.maxParallelism,
      (action) => this.ctx.post(action),
      (now) => this.fireProcessingTimers(now),
    );
    const dir = this.ctx.checkpointing.dir;
    if (settings?.snapshots === 'incremental' && dir !== undefined) {
      this.backend.trackChanges();
      this.timerService.trackChanges();
      this.incremental = new IncrementalSnapshots({
        dir: join(dir, STATE_PIECES_DIR),
        uid: this.ctx.uid,
        subtask: this.ctx.subtask,
        consolidateEvery: settings.consolidateEvery,
        backend: this.backend,
        timers: this.timerService,
        maxParallelism: this.ctx.maxParallelism,
      });
    }
    const restored = this.ctx.restored;
    const chains: { chain: PieceRef[]; what: string }[] = [];
    for (const [keyGroup, state] of restored?.keyGroups ?? []) {
      const group = state as {
        state?: StateValue;
        chain?: unknown[];
        timers?: { e: [Key, number][]; p: [Key, number][] };
      };
      if (group.chain !== undefined) {
        const what = `operator ${this.ctx.uid}, key group ${keyGroup}`;
        if (restored?.piecesDir === undefined)
          throw new TributaryError(
            'STATE_CORRUPT',
            `${what}: the checkpoint references state pieces but was not read from a directory`,
          );
        const piecesDir = restored.piecesDir;
        const chain = group.chain.map((ref) => fromStoredRef(ref, piecesDir, what));
        chains.push({ chain, what });
        // without incremental snapshots now, the next (full) snapshot takes it all from the heap
        this.incremental?.restoreChain(keyGroup, chain);
      } else if (group.state !== undefined) {
        this.backend.restoreKeyGroup(group.state);
      }
      if (group.timers !== undefined) this.timerService.restore(group.timers);
      await this.backend.pendingWork?.(); // a disk backend's writes stay within bounds
    }
    // timers that were checkpointed incrementally come back from the chains too
    const timers = new Map<Key, unknown>();
    await readChains(this.backend, chains, timers, () => this.backend.pendingWork?.());
    this.timerService.restoreTable(timers);
  }

  /**
   * The event time of the current key: the operator's watermark, or the floor of its key group
   * when that key group joined behind it (`adopt` with a `watermark`) and has not caught up.
   */
  protected keyWatermark(): number {
    return this.timerService.watermarkOf(this.backend.currentKey, this.currentWatermark);
  }

  protected abstract processElement(value: I, ctx: KeyedContext<K>, out: Collector<O>): void;
  protected abstract onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    const out = this.collector;
    const ctx = this.context;
    this.domain = 'event-time';
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as I;
      this.backend.setCurrentKey(this.keySelector(value));
      const ts = timestamps?.[i];
      this.currentTimestamp = ts === undefined || Number.isNaN(ts) ? undefined : ts;
      this.processElement(value, ctx, this.out);
    }
    out.flushTo(this.output);
  }

  override processWatermark(timestamp: number): void {
    this.currentWatermark = timestamp;
    // the input ended: no record of a key group behind can come any more
    if (timestamp === MAX_WATERMARK) this.timerService.clearFloors();
    this.domain = 'event-time';
    this.timerService.advanceWatermark(timestamp, (key, ts) => this.fire(key, ts));
    this.collector.flushTo(this.output);
    this.output.emitWatermark(timestamp);
  }

  private fireProcessingTimers(now: number): void {
    this.domain = 'processing-time';
    this.timerService.fireProcessingTimers(now, (key, ts) => this.fire(key, ts));
    this.domain = 'event-time';
    this.collector.flushTo(this.output);
  }

  private fire(key: Key, timestamp: number): void {
    this.backend.setCurrentKey(key);
    this.currentTimestamp = timestamp;
    this.onTimer(timestamp, this.context, this.out);
  }

  /**
   * Applies a key group control to the key groups of this subtask's range it names, then passes
   * it on (operators downstream may be keyed too). See `KeyGroupControl`.
   */
  override processKeyGroupControl(control: KeyGroupControl): void {
    const { subtask, maxParallelism, parallelism } = this.ctx;
    const groups = keyGroupsWithin(
      control.keyGroups,
      keyGroupRange(subtask, maxParallelism, parallelism),
    );
    switch (control.kind) {
      case 'adopt':
        this.adopt(groups, control.state.get(this.ctx.uid), control);
        if (control.watermark !== undefined)
          this.timerService.setFloors(groups, control.watermark, this.currentWatermark);
        break;
      case 'advance':
        this.timerService.raiseFloors(groups, control.watermark, this.currentWatermark);
        this.fireDueEventTimers();
        break;
      case 'drop':
        this.backend.dropKeyGroups(groups);
        this.timerService.dropKeyGroups(groups);
        this.incremental?.resetGroups(groups);
        break;
      case 'suspend':
        this.timerService.suspend(groups);
        break;
      case 'resume':
        this.timerService.resume(groups);
        this.fireDueEventTimers();
        this.fireProcessingTimers(Date.now());
        break;
    }
    this.ctx.count('keyGroupControls', 1);
    this.output.emitKeyGroupControl(control);
  }

  /** Fires the event timers due at the current watermark (after a floor moved or a resume). */
  private fireDueEventTimers(): void {
    this.domain = 'event-time';
    this.timerService.advanceWatermark(this.currentWatermark, (key, ts) => this.fire(key, ts));
    this.collector.flushTo(this.output);
  }

  /** Replaces the state and timers of `groups` with `state` (full-checkpoint form per group). */
  private adopt(
    groups: ReadonlySet<number>,
    state: ReadonlyMap<number, StateValue> | undefined,
    control: KeyGroupControl,
  ): void {
    this.backend.dropKeyGroups(groups);
    this.timerService.dropKeyGroups(groups, false); // a suspension holds for the adopted timers
    this.incremental?.resetGroups(groups);
    for (const group of groups) {
      const value = state?.get(group) as
        | {
            state?: StateValue;
            chain?: unknown;
            timers?: { e: [Key, number][]; p: [Key, number][] };
          }
        | undefined;
      if (value === undefined) continue;
      if (value.chain !== undefined)
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `key group control ${control.id}: key group ${group} of operator ${this.ctx.uid} references state pieces; adopt takes loaded state ({ state, timers })`,
        );
      if (value.state !== undefined) this.backend.restoreKeyGroup(value.state);
      if (value.timers !== undefined) this.timerService.loadKeyGroup(value.timers);
    }
  }

  override snapshotState(checkpointId: number): OperatorSnapshot {
    // incremental: timers ride in the pieces (changed keys only)
    if (this.incremental !== undefined)
      return { pending: this.incremental.snapshot(checkpointId, new Map()) };
    const timers = this.timerService.snapshot();
    const state = this.backend.snapshot();
    const groups = new Map<number, StateValue>();
    for (const group of new Set([...state.keys(), ...timers.keys()])) {
      groups.set(group, {
        state: (state.get(group) ?? {}) as StateValue,
        timers: timers.get(group) ?? { e: [], p: [] },
      });
    }
    return { keyGroups: groups };
  }

  /** A disk backend's writes that ran ahead of its store (the task waits for them). */
  override pendingWork(): Promise<void> | undefined {
    return this.backend.pendingWork?.();
  }

  override async close(): Promise<void> {
    this.timerService?.close();
    this.incremental?.close();
    await this.backend?.close?.();
  }
}
