import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { FileSink } from '../../../src/sink/file/file-sink.js';
import { inProgressFiles, readCommitted, tempDir } from '../helpers/files.js';
import { InducedSource, type InducedSourceOptions } from '../helpers/induced-source.js';

type JobEvents = { type: string; checkpointId?: number; reason?: string }[];

/**
 * induced source → map (fails once, on the first record after the source was released from a
 * hold at `failAt` records that waited for two completed checkpoints) → file sink. `hold` keeps
 * the input from running out before what a test waits for has happened, whatever the machine's
 * speed: records after `afterRecords` wait until `until(events)` holds.
 */
function run(
  dir: string,
  options: InducedSourceOptions,
  extra: {
    failAt?: number;
    timeoutMs?: number;
    hold?: { afterRecords: number; until: (events: JobEvents) => boolean };
  } = {},
) {
  const events: JobEvents = [];
  let completed = 0;
  let armed = false;
  let failed = false;
  const { failAt, hold } = extra;
  const source = new InducedSource({
    ...options,
    ...(failAt !== undefined
      ? { hold: { afterRecords: failAt, until: () => (armed = completed >= 2) } }
      : hold !== undefined
        ? { hold: { afterRecords: hold.afterRecords, until: () => hold.until(events) } }
        : {}),
  });
  const env = StreamEnvironment.create({
    parallelism: 2,
    checkpoint: { intervalMs: 30, timeoutMs: extra.timeoutMs ?? 5_000 },
    restart: { type: 'fixed-delay', maxAttempts: 2, delayMs: 0 },
  });
  env
    .fromSource(source, { name: 'induced', uid: 'induced' })
    .map((v) => {
      if (armed && !failed) {
        failed = true;
        throw new Error('intentional failure');
      }
      return v;
    })
    .sinkTo(FileSink.jsonLines<number>(dir), { uid: 'files' });
  const handle = env.execute('induced');
  handle.events$.subscribe((e) => {
    if (e.type === 'checkpoint-completed') completed++;
    events.push(e);
  });
  return { handle, events, source };
}

const completedCount = (events: JobEvents): number =>
  events.filter((e) => e.type === 'checkpoint-completed').length;

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

describe('externally induced checkpoints', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('induced');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('completes checkpoints whose enumerator part resolves late, with barriers placed by the readers', async () => {
    const total = 4_000;
    const job = run(
      dir.path,
      { total, lateMs: () => 20, ratePerSecond: 4_000 },
      { hold: { afterRecords: 2_000, until: (events) => completedCount(events) >= 2 } },
    );
    const result = await job.handle;
    expect(result.status).toBe('finished');
    const completed = job.events.filter((e) => e.type === 'checkpoint-completed');
    expect(completed.length).toBeGreaterThanOrEqual(3);
    expect(sorted(await readCommitted<number>(dir.path))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
    // the final checkpoint worked although both readers had finished (the runtime placed the barriers)
    expect(job.source.group.finished.size).toBe(2);
    expect(job.source.lifecycle).toEqual(['start:fresh:0', 'close:finished']);
  });

  it('aborts a checkpoint the enumerator declines, tears nothing down, and completes the next', async () => {
    const total = 3_000;
    const job = run(
      dir.path,
      { total, decline: (id) => id % 2 === 1, ratePerSecond: 4_000 },
      { hold: { afterRecords: 1_500, until: (events) => completedCount(events) >= 2 } },
    );
    const result = await job.handle;
    expect(result.restarts).toBe(0);
    const aborted = job.events.filter((e) => e.type === 'checkpoint-aborted');
    expect(aborted.length).toBeGreaterThan(0);
    expect(
      aborted.every((e) => (e.checkpointId ?? 0) % 2 === 1 && /declined/.test(e.reason ?? '')),
    ).toBe(true);
    expect(
      job.events.some((e) => e.type === 'checkpoint-completed' && (e.checkpointId ?? 0) % 2 === 0),
    ).toBe(true);
    expect(sorted(await readCommitted<number>(dir.path))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
  });

  it('restarts the job once more than checkpoint.tolerableFailures (default 3) checkpoints fail in a row', async () => {
    const total = 3_000;
    const job = run(
      dir.path,
      { total, decline: (id) => id <= 4, ratePerSecond: 4_000 },
      {
        hold: { afterRecords: 1_500, until: (events) => events.some((e) => e.type === 'restart') },
      },
    );
    const result = await job.handle;
    expect(result.status).toBe('finished');
    expect(result.restarts).toBe(1);
    const restart = job.events.find((e) => e.type === 'restart') as { error?: Error } | undefined;
    expect(restart?.error?.message).toMatch(
      /4 checkpoints failed in a row \(checkpoint.tolerableFailures is 3\)/,
    );
    expect(sorted(await readCommitted<number>(dir.path))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
  });

  it('abandons a checkpoint whose enumerator part is too late (timeout) and completes the next one', async () => {
    const total = 3_000;
    // generous times: on a loaded machine a checkpoint that is not late must not time out
    const job = run(
      dir.path,
      { total, lateMs: (id) => (id === 1 ? 3_000 : 0), ratePerSecond: 3_000 },
      {
        timeoutMs: 1_500,
        hold: { afterRecords: 1_500, until: (events) => completedCount(events) >= 1 },
      },
    );
    const result = await job.handle;
    expect(result.restarts).toBe(0);
    const first = job.events.find((e) => e.checkpointId === 1 && e.type !== 'checkpoint-triggered');
    expect(first?.type).toBe('checkpoint-aborted');
    expect(first?.reason).toMatch(/timed out/);
    expect(
      job.events.some((e) => e.type === 'checkpoint-completed' && (e.checkpointId ?? 0) > 1),
    ).toBe(true);
    expect(sorted(await readCommitted<number>(dir.path))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
  });

  it('restores reader positions from the enumerator state after a failure: exactly once', async () => {
    const total = 6_000;
    const job = run(dir.path, { total, lateMs: () => 5, ratePerSecond: 4_000 }, { failAt: 3_000 });
    const result = await job.handle;
    expect(result.restarts).toBe(1);
    expect(job.source.lifecycle).toEqual([
      'start:fresh:0',
      'close:restarting',
      'start:restored:1',
      'close:finished',
    ]);
    expect(sorted(await readCommitted<number>(dir.path))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
    expect(await inProgressFiles(dir.path)).toEqual([]);
  });
});
