import { describe, expect, it } from 'vitest';
import type { OperatorContext, Output } from '../../../src/runtime/operator.js';
import { TimestampsAndWatermarksOperator } from '../../../src/runtime/operators/timestamps-watermarks-operator.js';
import { MAX_WATERMARK } from '../../../src/runtime/stream-element.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';

type Emitted =
  | { kind: 'records'; values: readonly unknown[]; timestamps: readonly number[] | undefined }
  | { kind: 'watermark'; timestamp: number }
  | { kind: 'idle'; idle: boolean };

/** The operator with an output that records what it emits and a mailbox run at once. */
function harness(strategy: WatermarkStrategy<{ ts: number }>): {
  operator: TimestampsAndWatermarksOperator<{ ts: number }>;
  emitted: Emitted[];
} {
  const emitted: Emitted[] = [];
  const output: Output = {
    emitBatch: (values, timestamps) => emitted.push({ kind: 'records', values, timestamps }),
    emitWatermark: (timestamp) => emitted.push({ kind: 'watermark', timestamp }),
    emitIdle: (idle) => emitted.push({ kind: 'idle', idle }),
    emitKeyGroupControl: () => undefined,
  };
  const ctx = { post: (action: () => void) => void action() } as unknown as OperatorContext;
  const operator = new TimestampsAndWatermarksOperator(strategy);
  operator.setup(ctx, output);
  operator.open();
  return { operator, emitted };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('TimestampsAndWatermarksOperator', () => {
  it('assigns timestamps, emits bounded out-of-orderness watermarks and replaces upstream ones', () => {
    const { operator, emitted } = harness(
      WatermarkStrategy.forBoundedOutOfOrderness<{ ts: number }>(10).withTimestampAssigner(
        (e, previous) => e.ts + (previous ?? 0),
      ),
    );
    operator.processBatch([{ ts: 100 }, { ts: 50 }], [1, NaN]);
    operator.processWatermark(5_000); // upstream: ignored
    operator.processIdle(true); // upstream: ignored
    operator.processBatch([{ ts: 90 }], undefined); // behind: no new watermark
    operator.processBatch([{ ts: 200 }], undefined);
    operator.processWatermark(MAX_WATERMARK); // end of input passes
    expect(emitted).toEqual([
      { kind: 'records', values: [{ ts: 100 }, { ts: 50 }], timestamps: [101, 50] },
      { kind: 'watermark', timestamp: 90 },
      { kind: 'records', values: [{ ts: 90 }], timestamps: [90] },
      { kind: 'records', values: [{ ts: 200 }], timestamps: [200] },
      { kind: 'watermark', timestamp: 189 },
      { kind: 'watermark', timestamp: MAX_WATERMARK },
    ]);
    operator.close();
  });

  it('goes idle without records, and back to active on the next one; its watermark never goes back', async () => {
    const { operator, emitted } = harness(
      WatermarkStrategy.forMonotonousTimestamps<{ ts: number }>()
        .withTimestampAssigner((e) => e.ts)
        .withIdleness(20),
    );
    try {
      operator.processBatch([{ ts: 100 }], undefined);
      await until(() => emitted.some((e) => e.kind === 'idle'), 'idleness');
      operator.processBatch([{ ts: 50 }], undefined);
      operator.processBatch([{ ts: 300 }], undefined);
      expect(emitted).toEqual([
        { kind: 'records', values: [{ ts: 100 }], timestamps: [100] },
        { kind: 'watermark', timestamp: 99 },
        { kind: 'idle', idle: true },
        { kind: 'idle', idle: false },
        { kind: 'records', values: [{ ts: 50 }], timestamps: [50] },
        { kind: 'records', values: [{ ts: 300 }], timestamps: [300] },
        { kind: 'watermark', timestamp: 299 },
      ]);
      // idle again after the next silence
      await until(() => emitted.filter((e) => e.kind === 'idle').length === 3, 'idle again');
      expect(emitted.at(-1)).toEqual({ kind: 'idle', idle: true });
    } finally {
      operator.close();
    }
  });
});
