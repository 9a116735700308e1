import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { acquireClient, type SharedClient } from '../../../src/pravega/client/client-registry.js';
import { ReaderGroup, type SegmentAt } from '../../../src/pravega/client/reader-group/index.js';
import type { KeyGroupControl } from '../../../src/runtime/key-group-control.js';
import { checkpointName } from '../../../src/source/pravega/names.js';
import {
  PravegaSourceReader,
  type ReaderSettings,
  type SegmentControls,
} from '../../../src/source/pravega/pravega-reader.js';
import type { SourceReaderContext } from '../../../src/source/source.js';

/** The Pravega source reader passes its settings' acquisition hook to its group reader. */

let dir: string;
let uri: string;
let shared: SharedClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-reader-hooks-'));
  uri = `embedded:${dir}`;
  shared = await acquireClient(uri);
});

afterAll(async () => {
  await shared.release();
  await rm(dir, { recursive: true, force: true });
});

function readerContext(): SourceReaderContext {
  return {
    jobName: 'j',
    sourceUid: 's',
    attempt: 0,
    checkpointing: { intervalMs: 1000, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors: { pravega: uri },
    subtask: 0,
    parallelism: 1,
    sendSplitRequest: () => undefined,
    count: () => undefined,
    warn: () => undefined,
    emitKeyGroupControl: () => undefined,
  };
}

/** Stream `<scope>/s` of `segments` fixed segments holding `count` events `e<i>` over `keys` routing keys; its reader group `<scope>/g`. */
async function writeEvents(
  scope: string,
  segments: number,
  count: number,
  keys: number,
): Promise<ReaderGroup> {
  const client = shared.client;
  await client.createScope(scope);
  await client.createStream(`${scope}/s`, {
    scalingPolicy: { type: 'fixed', minSegments: segments },
  });
  const writer = await client.createWriter(`${scope}/s`, {
    serialize: (v: string) => Buffer.from(v),
    deserialize: (b: Buffer) => b.toString(),
  });
  for (let i = 0; i < count; i++) void writer.write(`e${i}`, `k${i % keys}`);
  await writer.flush();
  await writer.close();
  return ReaderGroup.create(client, scope, 'g', { streams: [`${scope}/s`] });
}

/** Reader settings of a source of strings, `maxBatchEvents` per batch. */
function stringReader(maxBatchEvents: number): ReaderSettings<string> {
  return {
    deserialize: (b) => b.toString(),
    onDeserializationError: 'fail',
    onTruncatedData: 'fail',
    timestamp: undefined,
    maxBatchEvents,
    maxQueuedBatches: 2,
    maxEventsPerSecond: undefined,
    pravega: undefined,
  };
}

it('onAcquired of the reader settings is awaited before the first record of its segments', async () => {
  await writeEvents('hooks', 2, 20, 20);

  const records: string[] = [];
  const acquired: { at: SegmentAt[]; recordsBefore: number }[] = [];
  let loaded = false;
  const reader = new PravegaSourceReader<string>(readerContext(), {
    ...stringReader(100),
    onAcquired: async (at) => {
      acquired.push({ at: [...at], recordsBefore: records.length });
      await sleep(300);
      loaded = true;
    },
  });
  reader.start();
  reader.addSplits([
    { splitId: 'r0', readerGroupScope: 'hooks', readerGroup: 'g', readerId: 'r0' },
  ]);
  const deadline = Date.now() + 30_000;
  while (records.length < 20 && Date.now() < deadline) {
    const polled = reader.pollNext();
    if (typeof polled === 'object') {
      if (polled.records.length > 0) expect(loaded).toBe(true);
      records.push(...polled.records);
    } else await Promise.race([reader.isAvailable(), sleep(100)]);
  }
  expect(records.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`).sort());
  expect(acquired).toHaveLength(1);
  expect(acquired[0]!.recordsBefore).toBe(0);
  expect(acquired[0]!.at.map((a) => a.offset)).toEqual([0n, 0n]);
  await reader.close('stopped');
});

it('segment controls: adopt before the first record of acquired segments, suspend right after the barrier they are held at, drop once given back', async () => {
  const group = await writeEvents('controls', 4, 4000, 64);

  let completedThrough = 0;
  const log: { a: string[]; b: string[] } = { a: [], b: [] };
  const counts = { a: 0, b: 0 };
  const short = (segments: readonly string[]): string =>
    segments
      .map((s) => s.slice(s.lastIndexOf('/') + 1))
      .sort()
      .join(',');
  const controls = (who: 'a' | 'b'): SegmentControls => {
    let n = 0;
    const control = (
      kind: 'suspend' | 'resume' | 'drop',
      segments: readonly string[],
    ): KeyGroupControl => ({
      kind,
      id: `${who}-${++n}`,
      keyGroups: [{ start: 0, end: 1 }],
      ...({ note: short(segments) } as object),
    });
    return {
      acquired: async (at) => {
        await sleep(100);
        return {
          kind: 'adopt',
          id: `${who}-${++n}`,
          keyGroups: [{ start: 0, end: 1 }],
          checkpointId: completedThrough,
          state: new Map(),
          ...({ note: short(at.map((a) => a.segment)) } as object),
        };
      },
      held: (segments) => control('suspend', segments),
      kept: (segments) => control('resume', segments),
      released: (at) =>
        control(
          'drop',
          at.map((a) => a.segment),
        ),
    };
  };
  const context = (who: 'a' | 'b'): SourceReaderContext => ({
    ...readerContext(),
    subtask: who === 'a' ? 0 : 1,
    connectors: {
      pravega: uri,
      cluster: {
        workerId: who,
        isLeader: () => who === 'a',
        completedThrough: () => completedThrough,
        groupStart: () => 'join',
        readerJoined: () => undefined,
        mayAcquire: () => true,
        transactionStream: () => undefined,
        checkpointSenders: () => Promise.resolve(undefined),
      },
    },
    emitKeyGroupControl: (c) =>
      log[who].push(`${c.kind} ${(c as unknown as { note: string }).note}`),
  });
  const make = (who: 'a' | 'b'): PravegaSourceReader<string> => {
    const r = new PravegaSourceReader<string>(context(who), {
      ...stringReader(20),
      segmentControls: controls(who),
    });
    r.start();
    r.addSplits([{ splitId: who, readerGroupScope: 'controls', readerGroup: 'g', readerId: who }]);
    return r;
  };
  const poll = (who: 'a' | 'b', r: PravegaSourceReader<string>): void => {
    const id = r.shouldTriggerCheckpoint();
    if (id !== undefined) log[who].push(`barrier ${id}`);
    const polled = r.pollNext();
    if (typeof polled === 'object' && polled.records.length > 0) {
      counts[who] += polled.records.length;
      if (log[who].at(-1) !== 'records') log[who].push('records');
    }
  };
  const a = make('a');
  const deadline = Date.now() + 60_000;
  while (counts.a < 100 && Date.now() < deadline) {
    poll('a', a);
    await sleep(2);
  }
  const b = make('b');
  await sleep(300); // b joined the group
  const checkpoint = group.initiateCheckpoint(checkpointName(1, 'x'), { timeoutMs: 30_000 });
  while (!log.b.includes('barrier 1') && Date.now() < deadline) {
    for (const [who, r] of [
      ['a', a],
      ['b', b],
    ] as const)
      poll(who, r);
    await sleep(2);
  }
  let done = false;
  void checkpoint.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    for (const [who, r] of [
      ['a', a],
      ['b', b],
    ] as const)
      poll(who, r);
    await sleep(2);
  }
  await checkpoint;
  completedThrough = 1; // the gate opens: a gives two segments back, b takes them
  while (counts.a + counts.b < 4000 && Date.now() < deadline) {
    for (const [who, r] of [
      ['a', a],
      ['b', b],
    ] as const)
      poll(who, r);
    await sleep(2);
  }
  expect(counts.a + counts.b).toBe(4000);
  // a: all four adopted before any record; two held right after barrier 1, then dropped
  expect(log.a[0]).toBe('adopt 0.#epoch.0,1.#epoch.0,2.#epoch.0,3.#epoch.0');
  expect(log.a[1]).toBe('records');
  const barrier = log.a.indexOf('barrier 1');
  expect(log.a[barrier + 1]).toMatch(/^suspend \S+,\S+$/);
  const held = log.a[barrier + 1]!.slice('suspend '.length);
  expect(log.a.filter((l) => !['records', 'barrier 1'].includes(l))).toEqual([
    log.a[0],
    `suspend ${held}`,
    `drop ${held}`,
  ]);
  // b: its barrier before anything it owns, then the two adopted before their records
  expect(log.b.filter((l) => l !== 'records')).toEqual(['barrier 1', `adopt ${held}`]);
  expect(log.b.indexOf(`adopt ${held}`)).toBeLessThan(log.b.indexOf('records'));
  await a.close('stopped');
  await b.close('stopped');
}, 90_000);
