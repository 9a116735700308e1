import { expect, it } from 'vitest';
import { Checkpoint, ReaderGroup } from '../../../src/pravega/client/reader-group/index.js';
import { hashRoutingKey, segmentIdOf } from '../../../src/pravega/protocol/index.js';
import { keysOf } from '../../support/sequences.js';
import {
  closeAll,
  expectKeyOrder,
  idOf,
  onEachBackend,
  readUntil,
  readUntilSettled,
  seqSerializer,
  waitUntilNoneOutstanding,
  waitUntilOutstanding,
  writeSeqs,
} from './helpers.js';

onEachBackend('reader group checkpoints', (env) => {
  it('a checkpoint taken while reading, then a reset to it, reads exactly the events after it', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(4);
    const keys = keysOf(8);
    await writeSeqs(client, stream, keys, 1000);
    const total = keys.length * 1000;
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const readers = [
      await group.createReader('r1', seqSerializer),
      await group.createReader('r2', seqSerializer),
    ];
    let checkpoint: Promise<Checkpoint> | undefined;
    const got = await readUntil(readers, {
      until: (c) => c.events.length >= total && c.markers.length === 2,
      maxEvents: 20,
      pauseMs: 10,
      onBatch: (c) => {
        if (checkpoint === undefined && c.events.length > total / 3) {
          checkpoint = group.initiateCheckpoint('middle');
        }
      },
    });
    // a reader records its part when it is called again after the marker, or when it closes
    await closeAll(readers);
    const cp = await checkpoint!;
    const before = new Set<string>();
    for (const m of got.markers) {
      got.events
        .filter((e) => e.reader === m.reader)
        .slice(0, m.after)
        .forEach((e) => before.add(idOf(e)));
    }
    // taken in the middle
    expect(before.size).toBeGreaterThan(0);
    expect(before.size).toBeLessThan(total);
    // and survives serialisation
    const restored = Checkpoint.parse(cp.toText());
    expect(restored.streamCut(stream)!.positions.size).toBe(4);

    await group.resetToCheckpoint(restored);
    expect(await group.getGeneration()).toBe(1);
    const again = await group.createReader('r3', seqSerializer);
    const after = await readUntil([again], {
      until: (c) => c.events.length >= total - before.size,
    });
    const afterIds = after.events.map(idOf);
    expect(new Set(afterIds).size).toBe(afterIds.length);
    expect(afterIds.some((id) => before.has(id))).toBe(false);
    expect(new Set([...before, ...afterIds]).size).toBe(total);
    // and nothing more comes
    expect(await again.readBatch({ timeoutMs: 500 })).toEqual({ kind: 'events', events: [] });
    await again.close();
  });

  it('a checkpoint taken while a merge is half read restores to exactly the events after it', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(1);
    // split the one segment in two (A, B), put a few events in A and many in B, merge into M
    const A = segmentIdOf(1, 1);
    const B = segmentIdOf(1, 2);
    const M = segmentIdOf(2, 3);
    await client.scaleStream(
      stream,
      [0n],
      [
        [0, 0.5],
        [0.5, 1],
      ],
    );
    const all = keysOf(40);
    const kA = all.filter((k) => hashRoutingKey(k) < 0.5).slice(0, 2);
    const kB = all.filter((k) => hashRoutingKey(k) >= 0.5).slice(0, 4);
    await writeSeqs(client, stream, kA, 50);
    await writeSeqs(client, stream, kB, 2000);
    await client.scaleStream(stream, [A, B], [[0, 1]]);
    await writeSeqs(client, stream, [...kA, ...kB], 100, 5000);
    const total = kA.length * 150 + kB.length * 2100;
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const reader = await group.createReader('r', seqSerializer);
    let checkpoint: Promise<Checkpoint> | undefined;
    let aDoneAt: number | undefined;
    const got = await readUntil([reader], {
      until: (c) => c.markers.length > 0,
      maxEvents: 20,
      pauseMs: 2,
      onBatch: (c) => {
        const fromA = c.events.filter((e) => e.segment.endsWith('/1.#epoch.1')).length;
        if (fromA === kA.length * 50) aDoneAt ??= Date.now();
        // A is read to its end: give the reader time to complete it, then checkpoint
        if (checkpoint === undefined && aDoneAt !== undefined && Date.now() - aDoneAt > 400) {
          checkpoint = group.initiateCheckpoint('mid-merge');
        }
      },
    });
    await reader.close(); // records its part at the marker
    const cp = await checkpoint!;
    const positions = cp.streamCut(stream)!.positions;
    const a = await client.segmentStore.getInfo(`${scope}/s/1.#epoch.1`);
    // the half of the merge read to its end is in the cut, at its end; M and the parent are not
    expect(positions.get(A)).toBe(a.length);
    expect(positions.has(B)).toBe(true);
    expect(positions.has(M)).toBe(false);
    expect(positions.has(0n)).toBe(false);
    const before = got.events;
    expect(before.length).toBeLessThan(kA.length * 50 + kB.length * 2000);

    await group.resetToCheckpoint(cp);
    const again = await group.createReader('r', seqSerializer);
    const after = await readUntil([again], {
      until: (c) => c.events.length >= total - before.length,
    });
    const combined = [...before, ...after.events];
    expect(new Set(combined.map(idOf)).size).toBe(combined.length);
    expect(combined.length).toBe(total);
    expectKeyOrder(combined);
    expect(after.events.some((e) => e.segment.endsWith('/3.#epoch.2'))).toBe(true);
    await again.close();
  });

  it('bounds outstanding checkpoints; cancelling them fails their waiters and frees the slots', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    await writeSeqs(client, stream, keysOf(4), 100);
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [stream],
      maxOutstandingCheckpoints: 2,
    });
    const reader = await group.createReader('r', seqSerializer); // joined, not reading yet
    const c1 = group.initiateCheckpoint('c1', { timeoutMs: 30_000 });
    c1.catch(() => undefined); // awaited below; not unhandled if an assertion fails first
    // c1 is placed in the background: let it land before c2, so that their order is known
    await waitUntilOutstanding(group, 'c1');
    await expect(group.initiateCheckpoint('c2', { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await expect(group.initiateCheckpoint('c3')).rejects.toMatchObject({
      code: 'CHECKPOINT_LIMIT',
    });
    await expect(group.initiateCheckpoint('c1')).rejects.toMatchObject({
      code: 'ILLEGAL_ARGUMENT',
    });
    expect(await group.getOutstandingCheckpoints()).toEqual(['c1', 'c2']);
    expect(await group.cancelOutstandingCheckpoints()).toEqual(['c1', 'c2']);
    await expect(c1).rejects.toMatchObject({ code: 'CHECKPOINT_FAILED' });
    expect(await group.getOutstandingCheckpoints()).toEqual([]);
    // the reader never sees the cancelled ones; a new one completes once it passes the marker
    const c4 = group.initiateCheckpoint('c4');
    const got = await readUntil([reader], {
      until: (c) => c.markers.length > 0 && c.events.length >= 400,
    });
    expect(got.markers.map((m) => m.name)).toEqual(['c4']);
    await reader.readBatch({ timeoutMs: 0 }); // called again: past the marker
    expect((await c4).name).toBe('c4');
    await reader.close();
  });

  it('a checkpoint whose wait times out stays outstanding, completes later, and the group goes on', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    await writeSeqs(client, stream, keysOf(4), 100);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const reader = await group.createReader('r', seqSerializer);
    const timers = activeTimers();
    const started = Date.now();
    await expect(group.initiateCheckpoint('slow', { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    // the wait ends at its deadline, not never (generous bound: the machine may be loaded)
    expect(Date.now() - started).toBeLessThan(30_000);
    const abort = new AbortController();
    const waiting = group.initiateCheckpoint('aborted', { signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    // the abandoned waits left no timer behind
    expect(activeTimers()).toBeLessThanOrEqual(timers);
    expect(await group.getOutstandingCheckpoints()).toEqual(['slow', 'aborted']);
    // the reader passes both markers; both complete without anyone waiting
    const got = await readUntil([reader], {
      until: (c) => c.markers.length === 2 && c.events.length >= 400,
    });
    expect(got.markers.map((m) => m.name)).toEqual(['slow', 'aborted']);
    // called again: past the second marker; the reader records its part in the background
    await readUntil([reader], { until: () => false, deadlineMs: 300 });
    await waitUntilNoneOutstanding(group);
    const slow = await group.getCheckpoint('slow');
    expect(slow?.streamCut(stream)?.positions.size).toBe(2);
    expect(await group.getCheckpoint('aborted')).toBeDefined();
    expect(await group.getOutstandingCheckpoints()).toEqual([]);
    // and a new one completes while the reader reads on
    const next = group.initiateCheckpoint('next');
    await readUntilSettled([reader], next);
    expect((await next).name).toBe('next');
    await reader.close();
  });

  it('a reader that dies before passing a pending checkpoint has its part filled where its segments are released', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const keys = keysOf(4);
    await writeSeqs(client, stream, keys, 500);
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [stream],
      heartbeatIntervalMs: 200,
      readerTimeoutMs: 1_000,
    });
    const r1 = await group.createReader('r1', seqSerializer);
    const r2 = await group.createReader('r2', seqSerializer);
    await readUntil([r1, r2], {
      until: (c) => c.count('r1') >= 50 && c.count('r2') >= 50,
      maxEvents: 50,
    });
    const r2Segments = r2.ownedSegments;
    expect(r2Segments).toHaveLength(1);
    await r2.close({ leaveGroup: false }); // dies with no checkpoint behind it
    const checkpoint = group.initiateCheckpoint('c1', { timeoutMs: 30_000 });
    // r1 passes its marker; the checkpoint still waits for r2 until r2 is found dead
    let atMarker: ReadonlyMap<string, bigint> | undefined;
    const got = await readUntil([r1], {
      until: (c) => c.markers.length > 0,
      maxEvents: 10,
      pauseMs: 5,
      onBatch: (c) => {
        if (c.markers.length > 0) atMarker ??= r1.getPosition();
      },
    });
    // r1 reads on (past its marker, heartbeating) until r2 is found dead and the checkpoint completes
    let completed = false;
    void checkpoint.then(() => (completed = true)).catch(() => undefined);
    await readUntil([r1], { until: () => completed, maxEvents: 10, pauseMs: 5 });
    const cp = await checkpoint;
    expect(await group.getOnlineReaders()).toEqual(['r1']);
    const positions = cp.streamCut(stream)!.positions;
    const idOfSegment = (name: string) => BigInt(name.split('/')[2]!.split('.')[0]!);
    // r2's segment at the offset r2 took it over at (no checkpoint before): read again, not skipped
    expect(positions.get(idOfSegment(r2Segments[0]!))).toBe(0n);
    // r1's where it stood at its marker
    const [r1Segment, r1Offset] = [...atMarker!][0]!;
    expect(positions.get(idOfSegment(r1Segment))).toBe(r1Offset);
    expect(got.markers[0]!.name).toBe('c1');
    await r1.close();
  });

  it('a group with no reader online completes a checkpoint at once, at its start', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(3);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const cp = await group.initiateCheckpoint('idle');
    expect(cp.streamCut(stream)?.positions).toEqual(
      new Map([
        [0n, 0n],
        [1n, 0n],
        [2n, 0n],
      ]),
    );
    expect(cp.readerGroup).toBe(`${scope}/g`);
  });
});

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
