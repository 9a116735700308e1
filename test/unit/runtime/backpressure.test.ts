import { describe, expect, it } from 'vitest';
import type { OperatorMetrics } from '../../../src/runtime/job-events.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import type { Sink } from '../../../src/sink/sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';

describe('backpressure', () => {
  it('a slow sink slows the source: records in flight stay bounded and the heap stays flat', async () => {
    const capacity = 500;
    const batch = 100;
    const env = StreamEnvironment.create({
      parallelism: 1,
      channel: { capacity },
      metricsIntervalMs: 50,
      checkpoint: { intervalMs: 100 },
    });
    // ~1 KiB per record; the sink keeps nothing: it counts, and takes 3 ms per batch
    let written = 0;
    const slowSink: Sink<string> = {
      createWriter: () => ({
        initialize: async () => {},
        writeBatch: (records) => {
          written += records.length;
          return new Promise<void>((resolve) => setTimeout(resolve, 3));
        },
        snapshotState: async () => [],
        notifyCheckpointComplete: async () => {},
        close: async () => {},
      }),
    };
    env
      .fromSource(SequenceSource.unbounded(0, { batchSize: batch }), { uid: 'numbers' })
      .map((n) => `${n}:${'x'.repeat(1024)}`)
      .sinkTo(slowSink, { parallelism: 2, uid: 'sink' });
    const handle = env.execute('backpressure');
    const inFlight: number[] = [];
    const heap: number[] = [];
    handle.events$.subscribe((e) => {
      if (e.type !== 'metrics') return;
      const by = (uid: string): OperatorMetrics | undefined =>
        e.operators.find((m) => m.uid === uid);
      inFlight.push((by('numbers')?.recordsOut ?? 0) - (by('sink')?.recordsIn ?? 0));
      heap.push(process.memoryUsage().heapUsed);
    });
    while (heap.length < 30) await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await handle.cancel();
    expect(result.status).toBe('cancelled');
    const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
    const steady = heap.slice(5);
    console.log(
      `backpressure: sink wrote ${written} records; in flight max ${Math.max(...inFlight)}; ` +
        `heap MiB first ${mb(heap[0] ?? 0)} min ${mb(Math.min(...steady))} max ${mb(Math.max(...steady))} last ${mb(heap.at(-1) ?? 0)}`,
    );
    expect(written).toBeGreaterThan(0);
    // two channels of `capacity` records, plus a batch being written per sink subtask and one
    // batch emitted past the limit by the source
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(2 * capacity + 4 * batch);
    // generous: a leak would grow by ~1 MiB per thousand records the source can produce
    expect(Math.max(...steady) - Math.min(...steady)).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});
