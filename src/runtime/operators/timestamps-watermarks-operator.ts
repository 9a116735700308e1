import { StreamOperator } from '../operator.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../stream-element.js';
import type { WatermarkStrategy } from '../watermark-strategy.js';

/**
 * `assignTimestampsAndWatermarks` in the middle of a pipeline (Flink's
 * `TimestampsAndWatermarksOperator`), per subtask: gives each record the timestamp of the
 * strategy's assigner (which sees the record's current timestamp, if any), and emits watermarks
 * from what it saw — highest timestamp − out-of-orderness − 1, as it advances. Watermarks and
 * idleness from upstream are replaced: only the final watermark (end of input) passes. With
 * `withIdleness`, a subtask that got no record for that long marks its output idle; its next
 * record makes it active again (its watermark never goes back).
 */
export class TimestampsAndWatermarksOperator<T> extends StreamOperator {
  private maxTimestamp = MIN_WATERMARK;
  private emittedWatermark = MIN_WATERMARK;
  private idle = false;
  private lastRecordAt = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly strategy: WatermarkStrategy<T>) {
    super();
  }

  override open(): void {
    this.lastRecordAt = Date.now();
    this.armIdleTimer();
  }

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    if (values.length === 0) return;
    this.lastRecordAt = Date.now();
    if (this.idle) {
      this.idle = false;
      this.output.emitIdle(false);
      this.armIdleTimer();
    }
    const assigner = this.strategy.timestampAssigner;
    let out = timestamps;
    if (assigner !== undefined) {
      const assigned = new Array<number>(values.length);
      for (let i = 0; i < values.length; i++) {
        const current = timestamps?.[i];
        assigned[i] = assigner(
          values[i] as T,
          current === undefined || Number.isNaN(current) ? undefined : current,
        );
      }
      out = assigned;
    }
    this.output.emitBatch(values, out);
    const bound = this.strategy.outOfOrdernessMs;
    if (bound === undefined || out === undefined) return;
    let max = this.maxTimestamp;
    for (const ts of out) if (ts > max) max = ts;
    this.maxTimestamp = max;
    const watermark = max - bound - 1;
    if (watermark > this.emittedWatermark) {
      this.emittedWatermark = watermark;
      this.output.emitWatermark(watermark);
    }
  }

  override processWatermark(timestamp: number): void {
    // upstream watermarks are replaced by this operator's own; the end of input still counts
    if (timestamp === MAX_WATERMARK && this.emittedWatermark < MAX_WATERMARK) {
      this.closed = true;
      this.clearIdleTimer();
      if (this.idle) {
        this.idle = false;
        this.output.emitIdle(false);
      }
      this.emittedWatermark = MAX_WATERMARK;
      this.output.emitWatermark(MAX_WATERMARK);
    }
  }

  override processIdle(_idle: boolean): void {
    // replaced by this operator's own idleness (withIdleness)
  }

  override endInput(): void {
    this.closed = true;
    this.clearIdleTimer();
  }

  override close(): void {
    this.closed = true;
    this.clearIdleTimer();
  }

  /** Checks for idleness `idleTimeoutMs` after the last record (on the task's loop). */
  private armIdleTimer(): void {
    const timeout = this.strategy.idleTimeoutMs;
    if (timeout === undefined || this.closed || this.idle) return;
    this.clearIdleTimer();
    const wait = Math.max(0, this.lastRecordAt + timeout - Date.now());
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.ctx.post(() => this.checkIdle());
    }, wait);
    this.idleTimer.unref?.();
  }

  private checkIdle(): void {
    const timeout = this.strategy.idleTimeoutMs as number;
    if (this.closed || this.idle) return;
    if (Date.now() - this.lastRecordAt >= timeout) {
      this.idle = true;
      this.output.emitIdle(true);
      return;
    }
    this.armIdleTimer();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
