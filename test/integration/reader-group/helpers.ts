import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import type {
  EventStreamReader,
  ReaderGroup,
} from '../../../src/pravega/client/reader-group/index.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import type { Seq } from '../../support/sequences.js';

export const seqSerializer = jsonSerializer<Seq>();

/** Writes `perKey` events (seq 0..perKey-1) for each key, routed by key. */
export async function writeSeqs(
  client: PravegaClient,
  stream: string,
  keys: readonly string[],
  perKey: number,
  from = 0,
): Promise<void> {
  const writer = await client.createWriter(stream, seqSerializer);
  for (let i = from; i < from + perKey; i++) {
    for (const key of keys) void writer.write({ key, seq: i }, key);
    if (i % 200 === 0) await writer.ready();
  }
  await writer.flush();
  await writer.close();
}

export interface Got {
  readonly reader: string;
  readonly value: Seq;
  readonly segment: string;
  readonly offset: number;
}

export interface Marker {
  readonly reader: string;
  readonly name: string;
  /** how many events this reader had handed out before the marker */
  readonly after: number;
}

export interface Gap {
  readonly reader: string;
  readonly segment: string;
  readonly from: bigint;
  readonly to: bigint;
}

export interface Collected {
  /** every event, in the order the readers handed them out */
  readonly events: Got[];
  readonly markers: Marker[];
  /** truncated ranges the readers reported */
  readonly gaps: Gap[];
  readonly ended: Set<string>;
  count(reader: string): number;
}

export function collected(): Collected {
  const events: Got[] = [];
  return {
    events,
    markers: [],
    gaps: [],
    ended: new Set(),
    count: (reader) => events.filter((e) => e.reader === reader).length,
  };
}

export interface ReadLoopOptions {
  /** stop once this holds (checked after every batch) */
  readonly until: (c: Collected) => boolean;
  readonly deadlineMs?: number;
  readonly maxEvents?: number;
  /** called after each batch of a reader (e.g. to start a checkpoint) */
  readonly onBatch?: (c: Collected, reader: string) => void | Promise<void>;
  /** pause between batches (slows the reader down) */
  readonly pauseMs?: number;
  /** a reader stops reading once this returns true for it */
  readonly stopReader?: (c: Collected, reader: string) => boolean;
}

/** Reads with every reader concurrently until `until` holds, every reader ended, or the deadline. */
export async function readUntil(
  readers: readonly EventStreamReader<Seq>[],
  options: ReadLoopOptions,
  into: Collected = collected(),
): Promise<Collected> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  await Promise.all(
    readers.map(async (r) => {
      while (!options.until(into) && Date.now() < deadline) {
        if (options.stopReader?.(into, r.readerId) === true) return;
        const batch = await r.readBatch({ maxEvents: options.maxEvents ?? 500, timeoutMs: 200 });
        if (batch.kind === 'end') {
          into.ended.add(r.readerId);
          return;
        }
        if (batch.kind === 'checkpoint') {
          into.markers.push({
            reader: r.readerId,
            name: batch.name,
            after: into.count(r.readerId),
          });
        } else if (batch.kind === 'truncated') {
          const { segment, from, to } = batch;
          into.gaps.push({ reader: r.readerId, segment, from, to });
        } else {
          for (const e of batch.events) {
            into.events.push({
              reader: r.readerId,
              value: e.value,
              segment: e.segment,
              offset: e.offset,
            });
          }
        }
        await options.onBatch?.(into, r.readerId);
        if (options.pauseMs !== undefined) await sleep(options.pauseMs);
      }
    }),
  );
  return into;
}

export function idOf(e: { readonly value: Seq }): string {
  return `${e.value.key}#${e.value.seq}`;
}

export interface BackendEnv {
  readonly name: string;
  client(): PravegaClient;
  /** A fresh random scope with one stream `s` of `segments` fixed segments. */
  freshStream(segments: number): Promise<{ scope: string; stream: string }>;
}

/** Runs `body`'s tests on each backend (the real server and the embedded store). */
export function onEachBackend(title: string, body: (env: BackendEnv) => void): void {
  describe.each(BACKENDS.map((b) => [b().name, b] as const))(`${title} on %s`, (name, make) => {
    const backend = make();
    let client: PravegaClient | undefined;
    beforeAll(async () => {
      client = await backend.connect();
    });
    afterAll(async () => {
      await client?.close();
      await backend.cleanup();
    });
    body({
      name,
      client: () => client!,
      freshStream: async (segments) => {
        const scope = randomScope('rg');
        await client!.createScope(scope);
        await client!.createStream(`${scope}/s`, {
          scalingPolicy: { type: 'fixed', minSegments: segments },
        });
        return { scope, stream: `${scope}/s` };
      },
    });
  });
}

export async function closeAll(readers: readonly EventStreamReader<Seq>[]): Promise<void> {
  for (const r of readers) await r.close();
}

/** Per key, sequence numbers only grow. */
export function expectKeyOrder(events: readonly Got[]): void {
  const last = new Map<string, number>();
  const wrong: string[] = [];
  for (const e of events) {
    if ((last.get(e.value.key) ?? -1) >= e.value.seq) wrong.push(idOf(e));
    last.set(e.value.key, e.value.seq);
  }
  expect(wrong).toEqual([]);
}

/** Waits until checkpoint `name` is in the group's state (initiated, not yet complete). */
export async function waitUntilOutstanding(group: ReaderGroup, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await group.getOutstandingCheckpoints()).includes(name)) {
    if (Date.now() > deadline) throw new Error(`checkpoint ${name} was not placed within 60 s`);
    await sleep(10);
  }
}

/** Waits until the group has no outstanding checkpoint (each completed or cancelled). */
export async function waitUntilNoneOutstanding(group: ReaderGroup): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const outstanding = await group.getOutstandingCheckpoints();
    if (outstanding.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`checkpoints ${outstanding.join(', ')} still outstanding after 60 s`);
    }
    await sleep(10);
  }
}

/** Reads (and so passes markers and records their parts) until `promise` settles. */
export async function readUntilSettled(
  readers: readonly EventStreamReader<Seq>[],
  promise: Promise<unknown>,
): Promise<Collected> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return readUntil(readers, { until: () => settled });
}
