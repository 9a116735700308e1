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

const CONTENTS = '__window_contents';

/**
 * Event-time windows on a keyed stream: per key and window an accumulator in map state (window
 * start → accumulator) and an event-time timer at `end - 1`. When the watermark passes it the
 * result is emitted with timestamp `end - 1` and the window is dropped. Records for windows the
 * watermark already passed are late: dropped and counted (`lateRecordsDropped`).
 */
export class WindowOperator<K extends Key, I, Acc, R, O> extends KeyedOperator<K, I, O> {
  constructor(
    keySelector: (value: I) => K,
    private readonly assigner: WindowAssigner,
    private readonly aggregate: AggregateFunction<I, Acc, R>,
    private readonly emit: (key: K, window: TimeWindow, result: R, out: Collector<O>) => void,
  ) {
    super(keySelector);
  }

  protected processElement(value: I, ctx: KeyedContext<K>, _out: Collector<O>): void {
    const timestamp = ctx.timestamp;
    if (timestamp === undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `window operator "${this.ctx.name}" got a record without event timestamp: give the source a watermark strategy with timestamps`,
      );
    }
    const contents = ctx.mapState<number, Acc>(CONTENTS);
    for (const window of this.assigner.assignWindows(timestamp)) {
      if (window.end - 1 <= this.currentWatermark) {
        this.ctx.count('lateRecordsDropped', 1);
        continue;
      }
      const acc = contents.get(window.start) ?? this.aggregate.createAccumulator();
      contents.put(window.start, this.aggregate.add(value, acc));
      ctx.timers.registerEventTimeTimer(window.end - 1);
    }
  }

  protected onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void {
    if (ctx.timeDomain !== 'event-time') return;
    const contents = ctx.mapState<number, Acc>(CONTENTS);
    const start = timestamp + 1 - this.assigner.sizeMs;
    if (!contents.contains(start)) return;
    const acc = contents.get(start) as Acc;
    contents.remove(start);
    this.emit(ctx.key, { start, end: timestamp + 1 }, this.aggregate.getResult(acc), out);
  }
}
