import { expect, it } from 'vitest';
import { ReaderGroup, type Checkpoint } from '../../../src/pravega/client/reader-group/index.js';
import { tailCut } from '../../../src/pravega/client/stream-cut.js';
import { segmentIdOf } from '../../../src/pravega/protocol/index.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';
import {
  closeAll,
  idOf,
  onEachBackend,
  readUntil,
  seqSerializer,
  waitUntilOutstanding,
  writeSeqs,
} from './helpers.js';

onEachBackend('reader groups share segments', (env) => {
  it('two readers over four segments each read a disjoint share, together everything', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(4);
    const keys = keysOf(16);
    await writeSeqs(client, stream, keys, 500);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const readers = [
      await group.createReader('r1', seqSerializer),
      await group.createReader('r2', seqSerializer),
    ];
    expect(await group.getOnlineReaders()).toEqual(['r1', 'r2']);
    const total = keys.length * 500;
    const got = await readUntil(readers, { until: (c) => c.events.length >= total });
    const r1 = got.events.filter((e) => e.reader === 'r1');
    const r2 = got.events.filter((e) => e.reader === 'r2');
    // disjoint shares of two segments each
    const ids1 = new Set(r1.map(idOf));
    expect(r2.some((e) => ids1.has(idOf(e)))).toBe(false);
    expect(new Set(r1.map((e) => e.segment)).size).toBe(2);
    expect(new Set(r2.map((e) => e.segment)).size).toBe(2);
    expect(readers[0]!.ownedSegments).toHaveLength(2);
    // together: everything, once, in key order
    expectExactlyOnceInOrder(
      got.events.map((e) => e.value),
      keys,
      500,
    );
    await closeAll(readers);
    expect(await group.getOnlineReaders()).toEqual([]);
    // the readers left the group where they stopped: at the tail, nothing left to read
    const tail = await tailCut(client.controller, client.segmentStore, { scope, stream: 's' });
    expect((await group.getStreamCuts()).get(stream)!.positions).toEqual(tail.positions);
    expect(await group.unreadBytes()).toBe(0n);
  });

  it('a reader that joins later gets its share: the first one gives segments back', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(4);
    const keys = keysOf(8);
    await writeSeqs(client, stream, keys, 1000);
    const total = keys.length * 1000;
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const r1 = await group.createReader('r1', seqSerializer);
    const first = await readUntil([r1], { until: (c) => c.events.length >= 100, maxEvents: 100 });
    expect(r1.ownedSegments).toHaveLength(4);
    const r2 = await group.createReader('r2', seqSerializer);
    // slowly (at most 2 000 events/s each) until the segments changed hands — r1 would need 4 s to
    // read everything alone — then at full speed
    const shared = await readUntil(
      [r1, r2],
      {
        until: () => r1.ownedSegments.length === 2 && r2.ownedSegments.length === 2,
        maxEvents: 10,
        pauseMs: 5,
      },
      first,
    );
    const rest = await readUntil(
      [r1, r2],
      { until: (c) => c.events.length >= total, maxEvents: 100 },
      shared,
    );
    expect(r1.ownedSegments).toHaveLength(2);
    expect(r2.ownedSegments).toHaveLength(2);
    expect(rest.events.filter((e) => e.reader === 'r2').length).toBeGreaterThan(0);
    expectExactlyOnceInOrder(
      rest.events.map((e) => e.value),
      keys,
      1000,
    );
    await closeAll([r1, r2]);
  });

  it("with handover 'at-checkpoint', segments given back move to the late reader only once it passed a checkpoint", async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(4);
    const keys = keysOf(8);
    await writeSeqs(client, stream, keys, 2000);
    const total = keys.length * 2000;
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [stream],
      handover: 'at-checkpoint',
    });
    const r1 = await group.createReader('r1', seqSerializer);
    const first = await readUntil([r1], { until: (c) => c.events.length >= 100, maxEvents: 100 });
    expect(r1.ownedSegments).toHaveLength(4);
    const r2 = await group.createReader('r2', seqSerializer);
    // r1 gives two back, but r2 may not take them yet
    const before = await readUntil(
      [r1, r2],
      { until: () => r1.ownedSegments.length === 2, maxEvents: 20, pauseMs: 5 },
      first,
    );
    await readUntil(
      [r1, r2],
      { until: () => false, deadlineMs: 500, maxEvents: 20, pauseMs: 5 },
      before,
    );
    expect(r2.ownedSegments).toHaveLength(0);
    const checkpoint = group.initiateCheckpoint('handover');
    const got = await readUntil(
      [r1, r2],
      { until: (c) => c.events.length >= total, maxEvents: 20, pauseMs: 2 },
      before,
    );
    await checkpoint;
    expect(r2.ownedSegments).toHaveLength(2);
    expect(got.events.some((e) => e.reader === 'r2')).toBe(true);
    // r2 handed out nothing before its marker: all its events are after the checkpoint's barrier
    expect(got.markers.find((m) => m.reader === 'r2')?.after).toBe(0);
    expectExactlyOnceInOrder(
      got.events.map((e) => e.value),
      keys,
      2000,
    );
    await closeAll([r1, r2]);
  });

  it('a reader that dies mid-stream is taken offline and its segments are read on from the last checkpoint: nothing is lost', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(4);
    const keys = keysOf(8);
    await writeSeqs(client, stream, keys, 1000);
    const total = keys.length * 1000;
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [stream],
      heartbeatIntervalMs: 200,
      readerTimeoutMs: 1500,
    });
    const r1 = await group.createReader('r1', seqSerializer);
    const r2 = await group.createReader('r2', seqSerializer);
    let checkpoint: Promise<Checkpoint> | undefined;
    // both read slowly; a checkpoint is taken; r2 reads on past its marker, then dies
    const got = await readUntil([r1, r2], {
      until: (c) => {
        const marker = c.markers.find((m) => m.reader === 'r2');
        return marker !== undefined && c.count('r2') > marker.after + 200;
      },
      maxEvents: 10,
      pauseMs: 5,
      onBatch: async (c) => {
        if (checkpoint === undefined && c.events.length > total / 8) {
          checkpoint = group.initiateCheckpoint('before-death', { timeoutMs: 30_000 });
          await waitUntilOutstanding(group, 'before-death');
        }
      },
    });
    await r2.close({ leaveGroup: false }); // as if its process was killed
    const r2Marker = got.markers.find((m) => m.reader === 'r2')!;
    const r2All = got.events.filter((e) => e.reader === 'r2');
    const r2BeforeCheckpoint = r2All.slice(0, r2Marker.after);
    const r1Before = got.events.filter((e) => e.reader === 'r1');
    // r1 goes on alone: it passes its marker (the checkpoint completes: r2 had passed it), then
    // takes r2's segments over once r2 is found dead, from the checkpoint
    const rest = await readUntil([r1], {
      until: (c) => {
        const seen = new Set([...r2BeforeCheckpoint, ...r1Before, ...c.events].map(idOf));
        return seen.size >= total;
      },
    });
    const cp = await checkpoint!;
    expect(cp.name).toBe('before-death');
    expect(await group.getOnlineReaders()).toEqual(['r1']); // r2 was declared dead
    const r1All = [...r1Before, ...rest.events];
    expect(new Set([...r2BeforeCheckpoint, ...r1All].map(idOf)).size).toBe(total); // nothing lost
    // what r2 read after the checkpoint was read again by r1 (at least once); nothing else twice
    const r1Ids = r1All.map(idOf);
    expect(new Set(r1Ids).size).toBe(r1Ids.length);
    const r1Set = new Set(r1Ids);
    expect(r2All.slice(r2Marker.after).every((e) => r1Set.has(idOf(e)))).toBe(true);
    await expect(r2.readBatch()).rejects.toMatchObject({ code: 'CLOSED' });
    await r1.close();
  });

  it('readerOffline without a position releases a crashed reader at the last checkpoint', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const keys = keysOf(4);
    await writeSeqs(client, stream, keys, 2000);
    const total = keys.length * 2000;
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const r1 = await group.createReader('r1', seqSerializer);
    const first = await readUntil([r1], { until: (c) => c.events.length >= 100, maxEvents: 100 });
    const checkpoint = group.initiateCheckpoint('c1');
    const marked = await readUntil([r1], {
      until: (c) => c.markers.length > 0,
      maxEvents: 10,
      pauseMs: 5,
    });
    // it passes the marker and reads on, then crashes
    await readUntil([r1], { until: (c) => c.events.length >= 50, maxEvents: 50 });
    const cp = await checkpoint;
    await r1.close({ leaveGroup: false });
    expect(await group.readerOffline('r1')).toBe(true);
    expect(await group.readerOffline('r1')).toBe(false);
    expect(await group.getOnlineReaders()).toEqual([]);
    // the group resumes exactly at the checkpoint
    expect((await group.getStreamCuts()).get(stream)!.positions).toEqual(
      cp.streamCut(stream)!.positions,
    );
    const r2 = await group.createReader('r2', seqSerializer);
    const before = new Set([...first.events, ...marked.events].map(idOf));
    expect(before.size).toBeLessThan(total);
    const after = await readUntil([r2], { until: (c) => c.events.length >= total - before.size });
    expect(after.events.some((e) => before.has(idOf(e)))).toBe(false);
    expect(new Set([...before, ...after.events.map(idOf)]).size).toBe(total);
    await r2.close();
  });

  it('readerOffline with the position a reader reported releases it exactly there', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const keys = keysOf(4);
    await writeSeqs(client, stream, keys, 200);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const r1 = await group.createReader('r1', seqSerializer);
    const first = await readUntil([r1], { until: (c) => c.events.length >= 300, maxEvents: 100 });
    const position = r1.getPosition();
    expect(position.size).toBe(2);
    await r1.close({ leaveGroup: false });
    expect(await group.readerOffline('r1', position)).toBe(true);
    const r2 = await group.createReader('r2', seqSerializer);
    const after = await readUntil([r2], {
      until: (c) => c.events.length >= 800 - first.events.length,
    });
    const ids = [...first.events, ...after.events].map(idOf);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(800);
    await r2.close();
  });

  it('keeps every event and per-key order across a split and a merge while reading', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2); // 0: [0, .5), 1: [.5, 1)
    const keys = keysOf(16);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const readers = [
      await group.createReader('r1', seqSerializer),
      await group.createReader('r2', seqSerializer),
    ];
    const perKey = 600;
    const reading = readUntil(readers, {
      until: (c) => c.events.length >= keys.length * perKey,
      maxEvents: 100,
      deadlineMs: 90_000,
    });
    await writeSeqs(client, stream, keys, 200, 0);
    // split segment 0 into two
    await client.scaleStream(
      stream,
      [0n],
      [
        [0, 0.25],
        [0.25, 0.5],
      ],
    );
    await writeSeqs(client, stream, keys, 200, 200);
    // merge [.25, .5) (epoch 1, number 3) with segment 1 into [.25, 1)
    await client.scaleStream(stream, [segmentIdOf(1, 3), 1n], [[0.25, 1]]);
    await writeSeqs(client, stream, keys, 200, 400);
    const got = await reading;
    // the events of all readers, in the order they were handed out
    expectExactlyOnceInOrder(
      got.events.map((e) => e.value),
      keys,
      perKey,
    );
    expect(new Set(got.events.map((e) => e.segment)).size).toBe(5);
    expect(got.events.some((e) => e.segment.endsWith('.#epoch.2'))).toBe(true);
    await closeAll(readers);
  });
});
