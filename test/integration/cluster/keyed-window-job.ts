/**
 * The keyed job of the cluster keyed-state test, shared by its worker process (keyed-worker.ts)
 * and the plain single-process run it is compared with: Pravega source (event time = the sequence
 * number, in ms) → keyBy(key) → tumbling event-time windows of 50 ms, counting → exactly-once
 * Pravega sink. A record that comes late (after its window fired) goes out as `count: -1`.
 */
import { parseStreamCut } from '../../../src/pravega/client/stream-cut.js';
import type { KeyedStream } from '../../../src/runtime/data-stream.js';
import type { TimeWindow } from '../../../src/runtime/functions.js';
import type { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { OutputTag, TumblingEventTimeWindows } from '../../../src/runtime/windows.js';
import { PravegaSink } from '../../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import type { Seq } from '../../support/sequences.js';
import { WINDOW_MS, type WindowCount } from '../exchange/exchange-job-shared.js';

export { WINDOW_MS, type WindowCount };

/**
 * Per key, tumbling event-time windows of WINDOW_MS counted and written exactly once to `output`;
 * a record late for its window (it was read twice: none is late by construction) goes out as
 * `count: -1`, which the tests refuse. Shared by this job and the exchange job.
 */
export function countWindows(keyed: KeyedStream<Seq, string>, output: string): void {
  const late = new OutputTag<Seq>('late');
  const counted = keyed
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
      PravegaSink.forStream(output)
        .json<WindowCount>()
        .routingKey((w) => w.key)
        .exactlyOnce({ leaseMs: 120_000 }),
      { name: 'output', uid: 'output' },
    );
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
  // one input segment read by one reader: event time never goes back, so no record is late
  const keyed = env
    .fromSource(source, {
      name: 'input',
      uid: 'input',
      parallelism: 1,
      watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Seq>(WINDOW_MS),
    })
    .keyBy((s) => s.key);
  countWindows(keyed, args.output);
}
