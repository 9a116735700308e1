/**
 * The keyed job of the cluster keyed-state test, shared by its worker process (keyed-worker.ts)
 * and the plain single-process run it is compared with: Pravega source (event time = the sequence
 * number, in ms) → keyBy(key) → tumbling event-time windows of 50 ms, counting → exactly-once
 * Pravega sink. A record that comes late (after its window fired) goes out as `count: -1`.
 */
import { parseStreamCut } from '../../../src/pravega/client/stream-cut.js';
import type { TimeWindow } from '../../../src/runtime/functions.js';
import type { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { OutputTag, TumblingEventTimeWindows } from '../../../src/runtime/windows.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import type { Seq } from '../../support/sequences.js';

export const WINDOW_MS = 50;

/** One window's count for one key. */
export interface WindowCount {
  key: string;
  start: number;
  count: number;
}

export function windowCountJob(
  env: StreamEnvironment,
  args: { input: string; output: string; end?: string },
): void {
  const source = PravegaSource.forStream(
    args.input,
    args.end === undefined ? {} : { end: parseStreamCut(args.end) },
  )
    .json<Seq>()
    .timestamps((s) => s.seq);
  const late = new OutputTag<Seq>('late');
  // one input segment read by one reader: event time never goes back, so no record is late
  const counted = env
    .fromSource(source, {
      name: 'input',
      uid: 'input',
      parallelism: 1,
      watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Seq>(WINDOW_MS),
    })
    .keyBy((s) => s.key)
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .sideOutputLateData(late)
    .aggregate<number, number, WindowCount>(
      {
        createAccumulator: () => 0,
        add: (_s: Seq, n: number) => n + 1,
        getResult: (n: number) => n,
      },
      (key: string, window: TimeWindow, count: number, out) =>
        out.collect({ key, start: window.start, count }),
      { name: 'count', uid: 'count' },
    );
  counted
    .union(
      counted
        .getSideOutput(late)
        .map((s): WindowCount => ({ key: s.key, start: s.seq, count: -1 }), {
          name: 'late',
          uid: 'late',
        }),
    )
    .sinkTo(
      PravegaSink.forStream(args.output)
        .json<WindowCount>()
        .routingKey((w) => w.key)
        .exactlyOnce({ leaseMs: 120_000 }),
      { name: 'output', uid: 'output' },
    );
}
