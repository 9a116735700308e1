import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { Completion, type PendingEvent } from '../../../src/pravega/client/pending-event.js';
import {
  SegmentWriter,
  type SegmentWriterOwner,
} from '../../../src/pravega/client/segment-writer.js';
import { frameEvents } from '../../../src/pravega/protocol/index.js';
import type {
  AppendSession,
  AppendSessionHandlers,
  SegmentStore,
} from '../../../src/pravega/segment/segment-store.js';

/**
 * The segment writer's per-block bookkeeping (events framed into blocks as they are added; acks,
 * resends and hand-backs per block), driven through a store whose sessions record every append
 * and acknowledge only when told to.
 */

interface Appended {
  readonly data: Buffer;
  readonly count: number;
  readonly last: bigint;
}

class ScriptedSession implements AppendSession {
  readonly appends: Appended[] = [];
  closed = false;
  constructor(
    readonly lastEventNumber: bigint | undefined,
    readonly handlers: AppendSessionHandlers,
  ) {}
  append(framedEvents: Buffer, eventCount: number, lastEventNumber: bigint): void {
    // a copy: the writer must never change bytes it handed over
    this.appends.push({
      data: Buffer.from(framedEvents),
      count: eventCount,
      last: lastEventNumber,
    });
  }
  close(): void {
    this.closed = true;
  }
}

class ScriptedStore {
  readonly sessions: ScriptedSession[] = [];
  /** what the next session reports as stored */
  stored: bigint | undefined;
  openAppendSession(
    _segment: string,
    _writerId: string,
    handlers: AppendSessionHandlers,
  ): Promise<AppendSession> {
    const session = new ScriptedSession(this.stored, handlers);
    this.sessions.push(session);
    return Promise.resolve(session);
  }
}

class RecordingOwner implements SegmentWriterOwner {
  released = 0;
  sealed: PendingEvent[] | undefined;
  failed: TributaryError | undefined;
  onSegmentSealed(_w: SegmentWriter, unacked: PendingEvent[]): void {
    this.sealed = unacked;
  }
  onWriterFailed(_w: SegmentWriter, error: TributaryError): void {
    this.failed = error;
  }
  onBytesReleased(bytes: number): void {
    this.released += bytes;
  }
}

const options = {
  maxBlockBytes: 1024,
  maxReconnectAttempts: 3,
  initialBackoffMs: 1,
  maxBackoffMs: 2,
};

function payload(i: number, size = 100): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeInt32BE(i, 0);
  return b;
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

function setup() {
  const store = new ScriptedStore();
  const owner = new RecordingOwner();
  const writer = new SegmentWriter('s/t/0', store as unknown as SegmentStore, owner, options);
  return { store, owner, writer };
}

describe('segment writer blocks', () => {
  it('frames events into blocks of at most maxBlockBytes, numbered consecutively, byte for byte as frameEvents', async () => {
    const { store, writer } = setup();
    const payloads = Array.from({ length: 25 }, (_, i) => payload(i));
    const completion = new Completion(payloads.length);
    for (const p of payloads) writer.add(0.5, p, completion);
    await settle();
    const appends = store.sessions[0]!.appends;
    // 108 framed bytes per event: 9 per 1024-byte block
    expect(appends.map((a) => a.count)).toEqual([9, 9, 7]);
    expect(appends.map((a) => a.last)).toEqual([9n, 18n, 25n]);
    expect(Buffer.concat(appends.map((a) => a.data))).toEqual(frameEvents(payloads));
    expect(writer.unackedCount).toBe(25);
  });

  it('grows its slabs from 64 KiB to maxBlockBytes: blocks never exceed it, bytes as frameEvents', async () => {
    const store = new ScriptedStore();
    const writer = new SegmentWriter(
      's/t/0',
      store as unknown as SegmentStore,
      new RecordingOwner(),
      {
        ...options,
        maxBlockBytes: 1024 * 1024,
      },
    );
    const payloads = Array.from({ length: 40_000 }, (_, i) => payload(i));
    const completion = new Completion(payloads.length);
    for (const p of payloads) writer.add(0.5, p, completion);
    await settle();
    const appends = store.sessions[0]!.appends;
    expect(appends.every((a) => a.data.length <= 1024 * 1024)).toBe(true);
    // the first blocks end where the small first slabs do
    expect(appends[0]!.data.length).toBeLessThanOrEqual(64 * 1024);
    expect(appends.reduce((n, a) => n + a.count, 0)).toBe(40_000);
    expect(appends.at(-1)!.last).toBe(40_000n);
    expect(Buffer.concat(appends.map((a) => a.data))).toEqual(frameEvents(payloads));
  });

  it('settles each completion once all its events are acknowledged, across blocks', async () => {
    const { store, owner, writer } = setup();
    const first = new Completion(10);
    const second = new Completion(10);
    const settled: string[] = [];
    void first.promise.then(() => settled.push('first'));
    void second.promise.then(() => settled.push('second'));
    for (let i = 0; i < 10; i++) writer.add(0.1, payload(i), first);
    for (let i = 10; i < 20; i++) writer.add(0.1, payload(i), second);
    await settle();
    const session = store.sessions[0]!;
    session.handlers.onAck(9n, 0n);
    await settle();
    expect(settled).toEqual([]);
    session.handlers.onAck(10n, 9n);
    await settle();
    expect(settled).toEqual(['first']);
    expect(owner.released).toBe(1000);
    session.handlers.onAck(20n, 10n);
    await settle();
    expect(settled).toEqual(['first', 'second']);
    expect(owner.released).toBe(2000);
    expect(writer.unackedCount).toBe(0);
  });

  it('after a reconnect resends exactly what the store does not hold, splitting a block', async () => {
    const { store, owner, writer } = setup();
    const payloads = Array.from({ length: 20 }, (_, i) => payload(i, 50 + i));
    const completions = payloads.map(() => new Completion(1));
    payloads.forEach((p, i) => writer.add(0.3, p, completions[i]!));
    await settle();
    expect(store.sessions[0]!.appends.map((a) => a.last)).toEqual([15n, 20n]);
    // the store held 5 of the first block's 15 events when the connection dropped
    store.stored = 5n;
    store.sessions[0]!.handlers.onFailure(
      new TributaryError('CONNECTION_CLOSED', 'dropped', { retryable: true }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const resent = store.sessions[1]!.appends;
    expect(resent.map((a) => [a.count, a.last])).toEqual([
      [10, 15n],
      [5, 20n],
    ]);
    expect(Buffer.concat(resent.map((a) => a.data))).toEqual(frameEvents(payloads.slice(5)));
    expect(completions.map((c) => c.isSettled)).toEqual(payloads.map((_, i) => i < 5));
    expect(owner.released).toBe(payloads.slice(0, 5).reduce((n, p) => n + p.length, 0));
  });

  it('hands back every unacknowledged event in order, with its hash and completion, when sealed', async () => {
    const { store, owner, writer } = setup();
    const payloads = Array.from({ length: 30 }, (_, i) => payload(i, 60));
    const completions = [new Completion(12), new Completion(18)];
    payloads.forEach((p, i) => writer.add(i / 100, p, completions[i < 12 ? 0 : 1]!));
    await settle();
    store.sessions[0]!.handlers.onAck(7n, 0n);
    await settle();
    // added after the last send: still in the open block
    writer.add(0.99, payload(30, 60), completions[1]!);
    store.sessions[0]!.handlers.onFailure(new TributaryError('SEGMENT_SEALED', 'sealed'));
    await settle();
    const back = owner.sealed!;
    expect(back.map((e) => e.data.readInt32BE(0))).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 7),
    );
    expect(back.map((e) => e.routingHash)).toEqual([
      ...Array.from({ length: 23 }, (_, i) => (i + 7) / 100),
      0.99,
    ]);
    expect(back.map((e) => e.completion)).toEqual([
      ...Array.from({ length: 5 }, () => completions[0]),
      ...Array.from({ length: 19 }, () => completions[1]),
    ]);
    expect(back.every((e) => e.data.length === 60)).toBe(true);
    expect(writer.accepting).toBe(false);
  });
});
