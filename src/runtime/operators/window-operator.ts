import { TributaryError } from '../../errors.js';
import type {
  AggregateFunction,
  Collector,
  Key,
  KeyedContext,
  OnTimerContext,
  TimeWindow,
} from '../functions.js';
import type { WindowAssigner } from '../windows.js';
import { KeyedOperator } from './keyed-operator.js';

/** Fixed windows (tumbling, sliding): window start → accumulator; the end is start + size. */
const CONTENTS = '__window_contents';
/** Merging windows (sessions): window start → [end, accumulator]; sessions of a key never overlap. */
const SESSIONS = '__window_sessions';

/** How a window operator treats late records. */
export interface WindowLateness {
  /** A window's state is kept until the watermark passes `end - 1 + allowedLatenessMs`. */
  readonly allowedLatenessMs: number;
  /** Side output (tag id) for records later than that; undefined: they are dropped and counted. */
  readonly lateDataTag: string | undefined;
}

const NO_LATENESS: WindowLateness = { allowedLatenessMs: 0, lateDataTag: undefined };

/**
 * Event-time windows on a keyed stream (Flink's `WindowOperator` with the event-time trigger).
 * Per key and window an accumulator in map state and event-time timers: at `end - 1` the result
 * is emitted with timestamp `end - 1`; at `end - 1 + allowedLateness` the window's state is
 * dropped (the same timer when there is no lateness). A record for a window that already fired
 * but is still within the lateness is added and the window fires again at once (an updated
 * result). A record later than that for every window it belongs to is late: sent to the late-data
 * side output when there is one, else dropped; counted either way (`lateRecordsToSideOutput`,
 * `lateRecordsDropped`). Merging assigners (sessions) merge, per key, the new record's window with
 * every window it overlaps or touches: accumulators are merged with `AggregateFunction.merge` and
 * the timers of the merged windows are moved to the merged one.
 */
export class WindowOperator<K extends Key, I, Acc, R, O> extends KeyedOperator<K, I, O> {
  private lateValues: unknown[] = [];
  private lateTimestamps: number[] = [];
  private readonly lateness: number;

  constructor(
    keySelector: (value: I) => K,
    private readonly assigner: WindowAssigner,
    private readonly aggregate: AggregateFunction<I, Acc, R>,
    private readonly emit: (key: K, window: TimeWindow, result: R, out: Collector<O>) => void,
    private readonly late: WindowLateness = NO_LATENESS,
  ) {
    super(keySelector);
    this.lateness = late.allowedLatenessMs;
    if (assigner.merging === true && aggregate.merge === undefined) {
      throw new TributaryError(
        'CONFIG_INVALID',
        'merging (session) windows need AggregateFunction.merge(a, b): add it to the aggregate function',
      );
    }
  }

  override processBatch(
    values: readonly unknown[],
    timestamps: readonly number[] | undefined,
  ): void {
    super.processBatch(values, timestamps);
    if (this.lateValues.length === 0) return;
    const tag = this.late.lateDataTag as string;
    this.ctx.emitSideOutput(tag, this.lateValues, this.lateTimestamps);
    this.lateValues = [];
    this.lateTimestamps = [];
  }

  protected processElement(value: I, ctx: KeyedContext<K>, out: Collector<O>): void {
    const timestamp = ctx.timestamp;
    if (timestamp === undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `window operator "${this.ctx.name}" got a record without event timestamp: give the source a watermark strategy with timestamps, or call assignTimestampsAndWatermarks before keyBy`,
      );
    }
    const accepted =
      this.assigner.merging === true
        ? this.addToSession(value, timestamp, ctx, out)
        : this.addToWindows(value, timestamp, ctx, out);
    if (!accepted) this.lateRecord(value, timestamp);
  }

  protected onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void {
    if (ctx.timeDomain !== 'event-time') return;
    if (this.assigner.merging === true) {
      this.onSessionTimer(timestamp, ctx, out);
      return;
    }
    const contents = ctx.mapState<number, Acc>(CONTENTS);
    const size = this.assigner.sizeMs;
    const start = timestamp + 1 - size;
    const acc = contents.get(start);
    if (acc !== undefined || contents.contains(start)) {
      this.fireWindow(ctx.key, { start, end: timestamp + 1 }, acc as Acc, out);
      if (this.lateness === 0) contents.remove(start);
    }
    if (this.lateness > 0) contents.remove(start - this.lateness);
  }

  /**
   * Whether a window's state is gone for good (the watermark passed end - 1 + lateness). The
   * watermark is the current key's (`keyWatermark`): a key group that joined behind the
   * operator's watermark decides lateness against its floor.
   */
  private isLate(window: TimeWindow, watermark: number): boolean {
    return window.end - 1 + this.lateness <= watermark;
  }

  private addToWindows(
    value: I,
    timestamp: number,
    ctx: KeyedContext<K>,
    out: Collector<O>,
  ): boolean {
    const contents = ctx.mapState<number, Acc>(CONTENTS);
    const watermark = this.keyWatermark();
    let accepted = false;
    for (const window of this.assigner.assignWindows(timestamp)) {
      if (this.isLate(window, watermark)) continue;
      accepted = true;
      const acc = this.aggregate.add(
        value,
        contents.get(window.start) ?? this.aggregate.createAccumulator(),
      );
      contents.put(window.start, acc);
      this.schedule(window, ctx, acc, out, watermark);
    }
    return accepted;
  }

  private addToSession(
    value: I,
    timestamp: number,
    ctx: KeyedContext<K>,
    out: Collector<O>,
  ): boolean {
    const sessions = ctx.mapState<number, [number, Acc]>(SESSIONS);
    const [own] = this.assigner.assignWindows(timestamp) as [TimeWindow];
    const overlapping: [number, number, Acc][] = [];
    let start = own.start;
    let end = own.end;
    for (const [s, [e, acc]] of sessions.entries()) {
      if (s <= own.end && e >= own.start) {
        overlapping.push([s, e, acc]);
        if (s < start) start = s;
        if (e > end) end = e;
      }
    }
    const merged: TimeWindow = { start, end };
    const watermark = this.keyWatermark();
    if (this.isLate(merged, watermark)) return false;
    const only = overlapping.length === 1 ? overlapping[0] : undefined;
    if (only !== undefined && only[0] === start && only[1] === end) {
      // the record falls inside an existing session: its timers stay as they are
      const acc = this.aggregate.add(value, only[2]);
      sessions.put(start, [end, acc]);
      if (end - 1 <= watermark) this.fireWindow(ctx.key, merged, acc, out);
      return true;
    }
    overlapping.sort((a, b) => a[0] - b[0]);
    const aggregate = this.aggregate as Required<AggregateFunction<I, Acc, R>>;
    const first = overlapping[0];
    let acc = first === undefined ? aggregate.createAccumulator() : first[2];
    for (let i = 1; i < overlapping.length; i++)
      acc = aggregate.merge(acc, (overlapping[i] as [number, number, Acc])[2]);
    for (const [s] of overlapping) if (s !== start) sessions.remove(s);
    acc = aggregate.add(value, acc);
    sessions.put(start, [end, acc]);
    // move the timers: drop those of the merged windows that no remaining window needs
    if (overlapping.length > 0) {
      const needed = new Set<number>();
      for (const [, [e]] of sessions.entries()) {
        needed.add(e - 1);
        needed.add(e - 1 + this.lateness);
      }
      for (const [, e] of overlapping) {
        for (const t of [e - 1, e - 1 + this.lateness])
          if (!needed.has(t)) ctx.timers.deleteEventTimeTimer(t);
      }
    }
    this.schedule(merged, ctx, acc, out, watermark);
    return true;
  }

  /** Timers of a window that just got a record; fires at once when it is due already (lateness). */
  private schedule(
    window: TimeWindow,
    ctx: KeyedContext<K>,
    acc: Acc,
    out: Collector<O>,
    watermark: number,
  ): void {
    const due = window.end - 1;
    if (due <= watermark) {
      this.fireWindow(ctx.key, window, acc, out);
    } else {
      ctx.timers.registerEventTimeTimer(due);
    }
    if (this.lateness > 0) ctx.timers.registerEventTimeTimer(due + this.lateness);
  }

  private onSessionTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void {
    const sessions = ctx.mapState<number, [number, Acc]>(SESSIONS);
    const due: [number, number, Acc][] = [];
    for (const [start, [end, acc]] of sessions.entries()) {
      if (end - 1 === timestamp || end - 1 + this.lateness <= timestamp)
        due.push([start, end, acc]);
    }
    for (const [start, end, acc] of due) {
      if (end - 1 === timestamp) this.fireWindow(ctx.key, { start, end }, acc, out);
      if (end - 1 + this.lateness <= timestamp) sessions.remove(start);
    }
  }

  private fireWindow(key: K, window: TimeWindow, acc: Acc, out: Collector<O>): void {
    const stamp = window.end - 1;
    this.emit(key, window, this.aggregate.getResult(acc), {
      collect: (value, timestamp) => out.collect(value, timestamp ?? stamp),
    });
  }

  private lateRecord(value: I, timestamp: number): void {
    if (this.late.lateDataTag === undefined) {
      this.ctx.count('lateRecordsDropped', 1);
      return;
    }
    this.ctx.count('lateRecordsToSideOutput', 1);
    this.lateValues.push(value);
    this.lateTimestamps.push(timestamp);
  }
}
