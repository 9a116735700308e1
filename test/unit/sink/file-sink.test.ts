import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeState, encodeState, type StateValue } from '../../../src/checkpoint/state-codec.js';
import { TributaryError } from '../../../src/errors.js';
import { FileSink } from '../../../src/sink/file/file-sink.js';
import type { SinkWriterContext } from '../../../src/sink/sink.js';
import { inProgressFiles, readCommitted, tempDir } from '../helpers/files.js';

function ctx(restoredState?: readonly StateValue[], runId = 'run00001'): SinkWriterContext {
  return {
    jobName: 'j',
    sinkUid: 'files',
    subtask: 0,
    parallelism: 1,
    attempt: 0,
    checkpointing: { intervalMs: 1000, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors: {},
    runId,
    restoredState,
    allowDuplicates: false,
    warn: () => {},
  };
}

const roundTrip = (state: readonly StateValue[]): StateValue[] =>
  state.map((s) => decodeState(JSON.parse(JSON.stringify(encodeState(s)))));

describe('FileSink (exactly-once files)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('files');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('keeps data invisible until the checkpoint completes, then renames atomically', async () => {
    const sink = FileSink.jsonLines<{ n: number }>(dir.path, { writeBufferBytes: 16 });
    const writer = sink.createWriter(ctx());
    await writer.initialize();
    await writer.writeBatch([{ n: 1 }, { n: 2 }], undefined);
    await writer.snapshotState(1);
    expect(await readCommitted(dir.path)).toEqual([]);
    await writer.notifyCheckpointComplete(1);
    expect(await readCommitted(dir.path)).toEqual([{ n: 1 }, { n: 2 }]);
    await writer.close('finished');
    expect(await inProgressFiles(dir.path)).toEqual([]);
  });

  it('does not create files for empty transactions', async () => {
    const writer = FileSink.jsonLines<number>(dir.path).createWriter(ctx());
    await writer.initialize();
    await writer.snapshotState(1);
    await writer.notifyCheckpointComplete(1);
    await writer.close('finished');
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('recovers: re-commits pending files idempotently, deletes the open one and orphans', async () => {
    const first = FileSink.jsonLines<number>(dir.path).createWriter(ctx(undefined, 'firstrun'));
    await first.initialize();
    await first.writeBatch([1, 2], undefined);
    const state = await first.snapshotState(1); // notification lost, then crash
    await first.writeBatch([3], undefined);
    await first.snapshotState(2); // never completed: its files are orphans
    await first.writeBatch([4], undefined);
    await writeFile(join(dir.path, '.part-1-other-0-0.inprogress'), 'another subtask');

    const second = FileSink.jsonLines<number>(dir.path).createWriter(
      ctx(roundTrip(state), 'secondrn'),
    );
    await second.initialize();
    expect(await readCommitted<number>(dir.path)).toEqual([1, 2]);
    // only this subtask's orphans are removed; the fresh transaction of the new run is open
    expect((await inProgressFiles(dir.path)).sort()).toEqual([
      '.part-0-secondrn-0-0.inprogress',
      '.part-1-other-0-0.inprogress',
    ]);

    // recovering the same state again is a no-op (already committed)
    const third = FileSink.jsonLines<number>(dir.path).createWriter(
      ctx(roundTrip(state), 'thirdrun'),
    );
    await third.initialize();
    expect(await readCommitted<number>(dir.path)).toEqual([1, 2]);
  });

  it('reports a lost transaction as DATA_LOSS', async () => {
    const first = FileSink.jsonLines<number>(dir.path).createWriter(ctx(undefined, 'firstrun'));
    await first.initialize();
    await first.writeBatch([1], undefined);
    const state = await first.snapshotState(1);
    await unlink(join(dir.path, '.part-0-firstrun-0-0.inprogress'));
    const second = FileSink.jsonLines<number>(dir.path).createWriter(
      ctx(roundTrip(state), 'secondrn'),
    );
    await expect(second.initialize()).rejects.toSatisfy((e) => TributaryError.is(e, 'DATA_LOSS'));
  });

  it('validates options, naming the key', () => {
    expect(() => FileSink.jsonLines(dir.path, { prefix: 'a/b' })).toThrow(
      /invalid file sink options: prefix/,
    );
    expect(() => FileSink.jsonLines('')).toThrow(/file sink directory/);
  });
});
