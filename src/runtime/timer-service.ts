import { keyGroupOf, keyText, type Key } from './key-groups.js';

export type TimeDomain = 'event-time' | 'processing-time';

interface Timer {
  readonly timestamp: number;
  readonly key: Key;
  readonly id: string;
}

/** Min-heap of timers by timestamp with lazy deletion. */
class TimerQueue {
  private heap: Timer[] = [];
  readonly live = new Map<string, Timer>();

  add(key: Key, timestamp: number): boolean {
    const id = `${keyText(key)}@${timestamp}`;
    if (this.live.has(id)) return false;
    const timer = { timestamp, key, id };
    this.live.set(id, timer);
    this.heap.push(timer);
    this.up(this.heap.length - 1);
    return true;
  }

  delete(key: Key, timestamp: number): void {
    this.live.delete(`${keyText(key)}@${timestamp}`);
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

  constructor(
    private readonly maxParallelism: number,
    /** Schedules `fireProcessingTimers` on the task loop. */
    private readonly postToTask: (action: () => void) => void,
    private readonly onProcessingTime: (now: number) => void,
  ) {}

  register(domain: TimeDomain, key: Key, timestamp: number): void {
    if (domain === 'event-time') {
      this.event.add(key, timestamp);
    } else if (this.processing.add(key, timestamp)) {
      this.scheduleWakeup(timestamp);
    }
  }

  delete(domain: TimeDomain, key: Key, timestamp: number): void {
    (domain === 'event-time' ? this.event : this.processing).delete(key, timestamp);
  }

  /** Fires, in timestamp order, every event timer ≤ watermark. */
  advanceWatermark(watermark: number, fire: (key: Key, timestamp: number) => void): void {
    for (
      let timer = this.event.pollUpTo(watermark);
      timer !== undefined;
      timer = this.event.pollUpTo(watermark)
    ) {
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
