import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { SourceReaderContext, SplitEnumeratorContext } from '../../../src/source/source.js';
import type { SequenceSplit } from '../../../src/source/sequence/sequence-split.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';

function enumeratorContext(parallelism: number) {
  const assigned: [number, SequenceSplit[]][] = [];
  const noMore: number[] = [];
  const ctx: SplitEnumeratorContext<SequenceSplit> = {
    jobName: 'j',
    sourceUid: 's',
    attempt: 0,
    checkpointing: { intervalMs: 1000, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors: {},
    parallelism,
    start: { kind: 'fresh' },
    registeredReaders: () => new Set(),
    finishedReaders: () => new Set(),
    assignSplits: (subtask, splits) => assigned.push([subtask, [...splits]]),
    signalNoMoreSplits: (subtask) => noMore.push(subtask),
    failJob: (err) => {
      throw err;
    },
    signal: new AbortController().signal,
  };
  return { ctx, assigned, noMore };
}

function readerContext(onRequest: () => void): SourceReaderContext {
  return {
    jobName: 'j',
    sourceUid: 's',
    attempt: 0,
    checkpointing: { intervalMs: 1000, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors: {},
    subtask: 0,
    parallelism: 1,
    sendSplitRequest: onRequest,
    count: () => undefined,
    warn: () => undefined,
    emitKeyGroupControl: () => undefined,
  };
}

describe('SequenceSource', () => {
  it('splits the range into strided splits handed out on request, then no more splits', async () => {
    const source = SequenceSource.bounded(10, 20, { splits: 3 });
    const { ctx, assigned, noMore } = enumeratorContext(2);
    const enumerator = source.createEnumerator(ctx);
    await enumerator.start();
    enumerator.handleSplitRequest(0);
    enumerator.handleSplitRequest(1);
    const state = await enumerator.snapshotState(1);
    expect(state?.unassigned.map((s) => s.splitId)).toEqual(['seq-2-of-3']);
    enumerator.handleSplitRequest(0);
    enumerator.handleSplitRequest(0);
    expect(assigned.map(([t, s]) => [t, s[0]?.next])).toEqual([
      [0, 10],
      [1, 11],
      [0, 12],
    ]);
    expect(noMore).toEqual([0]);
  });

  it('reads a split in batches, checkpoints its position, and resumes from it', () => {
    let requests = 0;
    const source = SequenceSource.bounded(0, 10, { batchSize: 3 });
    const reader = source.createReader(readerContext(() => requests++));
    void reader.start();
    expect(requests).toBe(1);
    expect(reader.pollNext()).toBe('nothing-available');
    reader.addSplits([{ splitId: 'a', next: 0, step: 2, end: 10 }]);
    expect(reader.pollNext()).toEqual({ records: [0, 2, 4] });
    const state = reader.snapshotState(1).map((s) => source.splitSerializer.toState(s));
    const resumed = source.createReader(readerContext(() => {}));
    resumed.addSplits(state.map((s) => source.splitSerializer.fromState(s)));
    expect(resumed.pollNext()).toEqual({ records: [6, 8] });
    resumed.notifyNoMoreSplits();
    expect(resumed.pollNext()).toBe('end-of-input');
  });

  it('validates its options, naming the key', () => {
    expect(() => SequenceSource.bounded(5, 1)).toThrow(
      /sequence source bounds: to: must be ≥ from/,
    );
    expect(() => SequenceSource.bounded(0, 10, { batchSize: 0 })).toThrow(/batchSize/);
    let error: unknown;
    try {
      SequenceSource.unbounded(0, { ratePerSecond: -1 });
    } catch (err) {
      error = err;
    }
    expect(TributaryError.is(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/ratePerSecond/);
    expect(SequenceSource.unbounded().boundedness).toBe('unbounded');
    expect(() => source.splitSerializer.fromState({ splitId: 1 })).toThrow(/bad sequence split/);
  });
});

const source = SequenceSource.bounded(0, 1);
