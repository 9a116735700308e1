import { TIMERS_TABLE, type SectionTables } from '../state/state-sections.js';
import { keyGroupOf, keyText, type Key } from './key-groups.js';

/** One key's timers as checkpointed: event-time and processing-time timestamps. */
interface KeyTimers {
  readonly e: number[];
  readonly p: number[];
}

export type TimeDomain = 'event-time' | 'processing-time';

interface Timer {
  readonly timestamp: number;
  readonly key: Key;
  readonly id: string;
}

/** Min-heap of timers by timestamp with lazy deletion. */
class TimerQueue {
  private heap: Timer[] = [];
  /** due timers of suspended key groups: live, not in the heap */
  private parked: Timer[] = [];
  readonly live = new Map<string, Timer>();
  /** live timestamps per key (to checkpoint one key's timers) */
  private readonly byKey = new Map<Key, Set<number>>();

  add(key: Key, timestamp: number): boolean {
    const id = `${keyText(key)}@${timestamp}`;
    if (this.live.has(id)) return false;
    const timer = { timestamp, key, id };
    this.live.set(id, timer);
    this.heap.push(timer);
    this.up(this.heap.length - 1);
    let timestamps = this.byKey.get(key);
    if (timestamps === undefined) this.byKey.set(key, (timestamps = new Set()));
    timestamps.add(timestamp);
    return true;
  }

  delete(key: Key, timestamp: number): void {
    if (this.live.delete(`${keyText(key)}@${timestamp}`)) this.unindex(key, timestamp);
  }

  /**
   * Keeps a timer just polled registered without it being due: it is live (checkpointed, found
   * by `of`, deletable) but out of the heap until `unpark` puts it back.
   */
  park(timer: Timer): void {
    this.live.set(timer.id, timer);
    let timestamps = this.byKey.get(timer.key);
    if (timestamps === undefined) this.byKey.set(timer.key, (timestamps = new Set()));
    timestamps.add(timer.timestamp);
    this.parked.push(timer);
  }

  /** Puts the parked timers `which` selects back into the heap (those still registered). */
  unpark(which: (timer: Timer) => boolean): void {
    const kept: Timer[] = [];
    for (const timer of this.parked) {
      if (!which(timer)) kept.push(timer);
      else if (this.live.get(timer.id) === timer) {
        this.heap.push(timer);
        this.up(this.heap.length - 1);
      }
    }
    this.parked = kept;
  }

  /** Removes every live timer `which` selects; returns their keys. */
  deleteWhere(which: (key: Key) => boolean): Set<Key> {
    const keys = new Set<Key>();
    for (const timer of [...this.live.values()]) {
      if (!which(timer.key)) continue;
      keys.add(timer.key);
      this.delete(timer.key, timer.timestamp);
    }
    this.parked = this.parked.filter((timer) => this.live.get(timer.id) === timer);
    return keys;
  }

  /** Live timestamps of `key`, ascending. */
  of(key: Key): number[] {
    const timestamps = this.byKey.get(key);
    return timestamps === undefined ? [] : [...timestamps].sort((a, b) => a - b);
  }

  private unindex(key: Key, timestamp: number): void {
    const timestamps = this.byKey.get(key);
    timestamps?.delete(timestamp);
    if (timestamps?.size === 0) this.byKey.delete(key);
  }

  /** Earliest live timer's timestamp. */
  peek(): number | undefined {
    this.dropDead();
    return this.heap[0]?.timestamp;
  }

  /** Removes and returns the earliest live timer if its timestamp ≤ limit. */
  pollUpTo(limit: number): Timer | undefined {
    this.dropDead();
    const top = this.heap[0];
    if (top === undefined || top.timestamp > limit) return undefined;
    this.pop();
    this.live.delete(top.id);
    this.unindex(top.key, top.timestamp);
    return top;
  }

  private dropDead(): void {
    while (this.heap.length > 0 && !this.live.has((this.heap[0] as Timer).id)) this.pop();
    while (this.heap.length > 0 && this.live.get((this.heap[0] as Timer).id) !== this.heap[0])
      this.pop();
  }

  private pop(): void {
    const last = this.heap.pop() as Timer;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Timer).timestamp <= (heap[i] as Timer).timestamp) break;
      [heap[parent], heap[i]] = [heap[i] as Timer, heap[parent] as Timer];
      i = parent;
    }
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && (heap[l] as Timer).timestamp < (heap[m] as Timer).timestamp) m = l;
      if (r < heap.length && (heap[r] as Timer).timestamp < (heap[m] as Timer).timestamp) m = r;
      if (m === i) return;
      [heap[m], heap[i]] = [heap[i] as Timer, heap[m] as Timer];
      i = m;
    }
  }
}

/**
 * Keyed event-time and processing-time timers of one operator subtask. At most one timer per
 * (key, timestamp, domain). Event timers fire when the watermark passes them; processing timers
 * fire from a single wall-clock timeout that posts onto the task loop. Timers are checkpointed
 * with the keyed state, per key group.
 */
export class KeyedTimerService {
  private readonly event = new TimerQueue();
  private readonly processing = new TimerQueue();
  private wakeup: NodeJS.Timeout | undefined;
  private wakeupAt = Infinity;
  private closed = false;
  /** keys whose timers changed since the last capture, when changes are tracked */
  private changed: Set<Key> | undefined;
  /** key groups whose timers do not fire (see `suspend`) */
  private readonly suspended = new Set<number>();
  /** key group → its watermark floor, below the operator's watermark (see `setFloors`) */
  private readonly floors = new Map<number, number>();

  constructor(
    private readonly maxParallelism: number,
    /** Schedules `fireProcessingTimers` on the task loop. */
    private readonly postToTask: (action: () => void) => void,
    private readonly onProcessingTime: (now: number) => void,
  ) {}

  register(domain: TimeDomain, key: Key, timestamp: number): void {
    this.changed?.add(key);
    if (domain === 'event-time') {
      this.event.add(key, timestamp);
    } else if (this.processing.add(key, timestamp)) {
      this.scheduleWakeup(timestamp);
    }
  }

  delete(domain: TimeDomain, key: Key, timestamp: number): void {
    this.changed?.add(key);
    (domain === 'event-time' ? this.event : this.processing).delete(key, timestamp);
  }

  /** From now on remember which keys' timers change (for incremental snapshots). */
  trackChanges(): void {
    this.changed ??= new Set();
  }

  /**
   * The timers of every key whose timers changed since the previous capture, per key group, as
   * a section table `TIMERS_TABLE` of value state (`{ e: [ts…], p: [ts…] }` per key, a delete
   * where it has none left): timers are checkpointed incrementally, in the chains of pieces,
   * like any keyed state. Costs in proportion to the changed keys.
   */
  captureChanges(): { keys: Key[]; groups: Map<number, SectionTables> } {
    const keys = this.changed === undefined ? [] : [...this.changed];
    this.changed?.clear();
    const groups = new Map<number, SectionTables>();
    for (const key of keys) {
      const group = keyGroupOf(key, this.maxParallelism);
      let tables = groups.get(group);
      if (tables === undefined) groups.set(group, (tables = {}));
      const entry = (tables[TIMERS_TABLE] ??= ['value', [], []]);
      const e = this.event.of(key);
      const p = this.processing.of(key);
      if (e.length === 0 && p.length === 0) entry[2].push(key);
      else entry[1].push(key, { e, p } satisfies KeyTimers);
    }
    return { keys, groups };
  }

  /** Marks keys' timers as changed again (their last captured changes were not written). */
  markChanged(keys: readonly Key[]): void {
    if (this.changed !== undefined) for (const key of keys) this.changed.add(key);
  }

  /** Registers the timers read back from checkpointed pieces (`TIMERS_TABLE`): not changes. */
  restoreTable(table: ReadonlyMap<Key, unknown>): void {
    const changed = this.changed;
    this.changed = undefined;
    try {
      for (const [key, timers] of table) {
        const { e, p } = timers as KeyTimers;
        for (const ts of e) this.register('event-time', key, ts);
        for (const ts of p) this.register('processing-time', key, ts);
      }
    } finally {
      this.changed = changed;
    }
  }

  /**
   * Fires, in timestamp order, every event timer ≤ watermark (not of suspended key groups, and of
   * a key group with a floor only those ≤ its floor).
   */
  advanceWatermark(watermark: number, fire: (key: Key, timestamp: number) => void): void {
    for (
      let timer = this.event.pollUpTo(watermark);
      timer !== undefined;
      timer = this.event.pollUpTo(watermark)
    ) {
      if (this.isSuspended(timer.key) || timer.timestamp > this.watermarkOf(timer.key, watermark)) {
        this.event.park(timer);
        continue;
      }
      this.changed?.add(timer.key);
      fire(timer.key, timer.timestamp);
    }
  }

  /** Fires every processing timer ≤ now, then re-arms the wall-clock wakeup. */
  fireProcessingTimers(now: number, fire: (key: Key, timestamp: number) => void): void {
    for (
      let timer = this.processing.pollUpTo(now);
      timer !== undefined;
      timer = this.processing.pollUpTo(now)
    ) {
      if (this.isSuspended(timer.key)) {
        this.processing.park(timer);
        continue;
      }
      this.changed?.add(timer.key);
      fire(timer.key, timer.timestamp);
    }
    const next = this.processing.peek();
    if (next !== undefined) this.scheduleWakeup(next);
  }

  /** Timers by key group: `{ e: [[key, ts]…], p: [[key, ts]…] }`. */
  snapshot(): Map<number, { e: [Key, number][]; p: [Key, number][] }> {
    const groups = new Map<number, { e: [Key, number][]; p: [Key, number][] }>();
    const add = (timers: Iterable<Timer>, field: 'e' | 'p'): void => {
      for (const timer of timers) {
        const group = keyGroupOf(timer.key, this.maxParallelism);
        let entry = groups.get(group);
        if (entry === undefined) groups.set(group, (entry = { e: [], p: [] }));
        entry[field].push([timer.key, timer.timestamp]);
      }
    };
    add(this.event.live.values(), 'e');
    add(this.processing.live.values(), 'p');
    return groups;
  }

  /**
   * Timers of `groups` stop firing: those that come due are kept registered (and checkpointed)
   * until `resume` or `dropKeyGroups`.
   */
  suspend(groups: ReadonlySet<number>): void {
    for (const group of groups) this.suspended.add(group);
  }

  /**
   * Timers of `groups` fire again. Those that came due meanwhile are due again: the caller
   * advances the watermark (and fires processing timers) to fire them now.
   */
  resume(groups: ReadonlySet<number>): void {
    for (const group of groups) this.suspended.delete(group);
    const which = (timer: Timer): boolean => groups.has(this.groupOf(timer.key));
    this.event.unpark(which);
    this.processing.unpark(which);
  }

  /**
   * Removes every timer of `groups` and (unless told not to) ends their suspension. Not a change: the next capture
   * says nothing about them.
   */
  dropKeyGroups(groups: ReadonlySet<number>, endSuspension = true): void {
    if (groups.size === 0) return;
    const which = (key: Key): boolean => groups.has(this.groupOf(key));
    this.event.deleteWhere(which);
    this.processing.deleteWhere(which);
    if (this.changed !== undefined)
      for (const key of [...this.changed]) if (which(key)) this.changed.delete(key);
    if (endSuspension) for (const group of groups) this.suspended.delete(group);
    for (const group of groups) this.floors.delete(group);
  }

  /**
   * The event time of `key` given the operator's watermark: `min(watermark, floor)` when its key
   * group has a floor, else `watermark`. One size check when there is no floor.
   */
  watermarkOf(key: Key, watermark: number): number {
    if (this.floors.size === 0) return watermark;
    const floor = this.floors.get(this.groupOf(key));
    return floor !== undefined && floor < watermark ? floor : watermark;
  }

  /**
   * Key groups that joined behind the operator's watermark follow `floor` instead (their records
   * up to it are not late, their event timers fire only up to it) until `raiseFloors` brings it to
   * the operator's watermark. A floor at or above `watermark` (the operator's) is no floor.
   */
  setFloors(groups: ReadonlySet<number>, floor: number, watermark: number): void {
    for (const group of groups) {
      if (floor < watermark) this.floors.set(group, floor);
      else this.floors.delete(group);
    }
  }

  /**
   * Moves the floors of `groups` up to `floor` (never down; key groups without a floor are left
   * alone); a floor that reaches `watermark` (the operator's) is removed. Event timers of those
   * key groups that became due are due again: the caller advances the watermark to fire them.
   */
  raiseFloors(groups: ReadonlySet<number>, floor: number, watermark: number): void {
    const raised = new Set<number>();
    for (const group of groups) {
      const old = this.floors.get(group);
      if (old === undefined || floor <= old) continue;
      if (floor < watermark) this.floors.set(group, floor);
      else this.floors.delete(group);
      raised.add(group);
    }
    if (raised.size > 0) this.event.unpark((timer) => raised.has(this.groupOf(timer.key)));
  }

  /** Removes every floor (the input ended); held timers are due again like after `raiseFloors`. */
  clearFloors(): void {
    if (this.floors.size === 0) return;
    this.floors.clear();
    this.event.unpark(() => true);
  }

  /** Registers one key group's timers as a full checkpoint holds them; they count as changed. */
  loadKeyGroup(state: { e: [Key, number][]; p: [Key, number][] }): void {
    for (const [key, ts] of state.e) this.register('event-time', key, ts);
    for (const [key, ts] of state.p) this.register('processing-time', key, ts);
  }

  private isSuspended(key: Key): boolean {
    return this.suspended.size > 0 && this.suspended.has(this.groupOf(key));
  }

  private groupOf(key: Key): number {
    return keyGroupOf(key, this.maxParallelism);
  }

  restore(state: { e: [Key, number][]; p: [Key, number][] }): void {
    for (const [key, ts] of state.e) this.event.add(key, ts);
    for (const [key, ts] of state.p) this.register('processing-time', key, ts);
  }

  close(): void {
    this.closed = true;
    if (this.wakeup !== undefined) clearTimeout(this.wakeup);
    this.wakeup = undefined;
  }

  private scheduleWakeup(timestamp: number): void {
    if (this.closed || timestamp >= this.wakeupAt) return;
    if (this.wakeup !== undefined) clearTimeout(this.wakeup);
    this.wakeupAt = timestamp;
    this.wakeup = setTimeout(
      () => {
        this.wakeup = undefined;
        this.wakeupAt = Infinity;
        this.postToTask(() => this.onProcessingTime(Date.now()));
      },
      Math.max(0, timestamp - Date.now()),
    );
  }
}
