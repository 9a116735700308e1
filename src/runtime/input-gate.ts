import type { Channel } from './channel.js';
import type { KeyGroupControl } from './key-group-control.js';
import { MIN_WATERMARK, type RecordBatch } from './stream-element.js';

/** What the gate hands its task: data, a combined watermark/idleness change, an aligned barrier, or the end. */
export type GateEvent =
  | RecordBatch
  | { readonly kind: 'watermark'; readonly timestamp: number }
  | { readonly kind: 'idle'; readonly idle: boolean }
  | { readonly kind: 'barrier'; readonly checkpointId: number }
  | { readonly kind: 'key-groups'; readonly control: KeyGroupControl }
  | { readonly kind: 'end' };

/**
 * Merges the input channels of one task.
 * - Watermarks: the task's watermark is the minimum over channels that are neither idle nor
 *   ended; it only moves forward (an input back from idleness behind it holds it until it passes
 *   it). The task is idle when every open channel is idle; when the last active one goes idle,
 *   the maximum the channels reached is emitted first (as Flink's `StatusWatermarkValve`).
 * - Barriers (aligned checkpoints): once barrier N arrives on a channel, that channel is blocked
 *   until N arrived on every channel; then N is handed out once. A newer barrier while aligning
 *   abandons the older alignment; barriers of aborted or older checkpoints are dropped.
 * - Key group controls: handed out as they come (the task drops copies of one it already had).
 * - End: handed out once, when every channel delivered its end of data (channels keep carrying
 *   barriers afterwards, because every task takes part in the final checkpoint).
 */
export class InputGate {
  private readonly watermarks: number[];
  private readonly idle: boolean[];
  private readonly ended: boolean[];
  private readonly arrived: boolean[];
  private aligning: number | undefined;
  private lastBarrier = 0;
  private emittedWatermark = MIN_WATERMARK;
  private isIdle = false;
  private endedCount = 0;
  private endEmitted = false;
  private recheckWatermark = false;
  /** An event to hand out on the next poll (the idleness that follows a watermark). */
  private pending: GateEvent | undefined;
  private next = 0;
  private waiter: (() => void) | undefined;

  constructor(private readonly channels: readonly Channel[]) {
    const n = channels.length;
    this.watermarks = new Array<number>(n).fill(MIN_WATERMARK);
    this.idle = new Array<boolean>(n).fill(false);
    this.ended = new Array<boolean>(n).fill(false);
    this.arrived = new Array<boolean>(n).fill(false);
    for (const channel of channels) channel.onData = () => this.wake();
  }

  get watermark(): number {
    return this.emittedWatermark;
  }

  /** Every open input is idle (the task's event time waits for none of them). */
  get allIdle(): boolean {
    return this.isIdle;
  }

  /** Resolves when some unblocked channel has data. */
  whenAvailable(): Promise<void> {
    if (this.hasReadable()) return Promise.resolve();
    return new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** Wakes a pending `whenAvailable` (used when the task is stopping). */
  wake(): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter();
    }
  }

  /** Checkpoint N was aborted: stop aligning on it and drop its late barriers. */
  abortCheckpoint(checkpointId: number): void {
    if (this.aligning !== undefined && this.aligning <= checkpointId) this.cancelAlignment();
    this.lastBarrier = Math.max(this.lastBarrier, checkpointId);
    this.wake();
  }

  /** Next event, or undefined when nothing is readable right now. Never blocks. */
  poll(): GateEvent | undefined {
    const pending = this.pending;
    if (pending !== undefined) {
      this.pending = undefined;
      return pending;
    }
    if (this.recheckWatermark) {
      // an input became active and was reported as such: its watermark may move the combined one
      this.recheckWatermark = false;
      const event = this.combinedWatermarkEvent();
      if (event !== undefined) return event;
    }
    const n = this.channels.length;
    for (let scanned = 0; scanned < n;) {
      const index = this.next;
      const channel = this.channels[index] as Channel;
      if (this.arrived[index] === true || channel.isEmpty) {
        this.next = (index + 1) % n;
        scanned++;
        continue;
      }
      const element = channel.shift();
      if (element === undefined) continue;
      switch (element.kind) {
        case 'records':
          this.next = (index + 1) % n;
          return element;
        case 'watermark': {
          this.watermarks[index] = Math.max(
            this.watermarks[index] ?? MIN_WATERMARK,
            element.timestamp,
          );
          const event = this.combinedWatermarkEvent();
          if (event !== undefined) return event;
          break;
        }
        case 'idle': {
          this.idle[index] = element.idle;
          const idleness = this.idlenessEvent();
          if (idleness !== undefined && element.idle) {
            // the last active input went idle: what the inputs reached counts (Flink's valve)
            const max = this.maxOpenWatermark();
            if (max > this.emittedWatermark) {
              this.emittedWatermark = max;
              this.pending = idleness;
              return { kind: 'watermark', timestamp: max };
            }
            return idleness;
          }
          if (idleness !== undefined) {
            this.recheckWatermark = true;
            return idleness;
          }
          const event = this.combinedWatermarkEvent();
          if (event !== undefined) return event;
          break;
        }
        case 'key-groups':
          // in order with the channel's records; the task applies each control once
          this.next = (index + 1) % n;
          return element;
        case 'barrier': {
          const event = this.onBarrier(index, element.checkpointId);
          if (event !== undefined) return event;
          break;
        }
        case 'end': {
          if (this.ended[index] !== true) {
            this.ended[index] = true;
            this.endedCount++;
          }
          if (this.endedCount === n && !this.endEmitted) {
            this.endEmitted = true;
            return { kind: 'end' };
          }
          const event = this.combinedWatermarkEvent();
          if (event !== undefined) return event;
          break;
        }
      }
      // keep reading the same channel: control elements are cheap
      scanned = 0;
    }
    return undefined;
  }

  private hasReadable(): boolean {
    for (let i = 0; i < this.channels.length; i++) {
      if (this.arrived[i] !== true && !(this.channels[i] as Channel).isEmpty) return true;
    }
    return false;
  }

  private onBarrier(index: number, checkpointId: number): GateEvent | undefined {
    if (checkpointId <= this.lastBarrier) return undefined;
    if (this.aligning === undefined || this.aligning < checkpointId) {
      if (this.aligning !== undefined) this.cancelAlignment();
      this.aligning = checkpointId;
    } else if (checkpointId < this.aligning) {
      return undefined;
    }
    this.arrived[index] = true;
    if (this.arrived.every(Boolean)) {
      this.cancelAlignment();
      this.lastBarrier = checkpointId;
      return { kind: 'barrier', checkpointId };
    }
    return undefined;
  }

  private cancelAlignment(): void {
    this.aligning = undefined;
    this.arrived.fill(false);
  }

  private combinedWatermarkEvent(): GateEvent | undefined {
    let min = Infinity;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (this.ended[i] === true || this.idle[i] === true) continue;
      min = Math.min(min, this.watermarks[i] ?? MIN_WATERMARK);
    }
    if (min === Infinity) {
      // no active channel: idle ones hold the watermark; once all ended, their final one counts
      if (this.endedCount < this.channels.length) return undefined;
      min = Math.max(...this.watermarks);
    }
    if (min > this.emittedWatermark) {
      this.emittedWatermark = min;
      return { kind: 'watermark', timestamp: min };
    }
    return undefined;
  }

  private maxOpenWatermark(): number {
    let max = MIN_WATERMARK;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (this.ended[i] !== true) max = Math.max(max, this.watermarks[i] ?? MIN_WATERMARK);
    }
    return max;
  }

  private idlenessEvent(): GateEvent | undefined {
    let allIdle = true;
    for (let i = 0; i < this.idle.length; i++) {
      if (this.ended[i] !== true && this.idle[i] !== true) allIdle = false;
    }
    if (allIdle !== this.isIdle) {
      this.isIdle = allIdle;
      return { kind: 'idle', idle: allIdle };
    }
    return undefined;
  }
}
