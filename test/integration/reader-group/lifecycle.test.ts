import { expect, it } from 'vitest';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/index.js';
import { headCut, streamCutToText, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';
import { truncateAndWait } from '../../support/truncation.js';
import {
  closeAll,
  idOf,
  onEachBackend,
  readUntil,
  readUntilSettled,
  seqSerializer,
  writeSeqs,
} from './helpers.js';

onEachBackend('reader group lifecycle', (env) => {
  it('readers bounded by end cuts read up to the cuts and then report the end, group-wide', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(3);
    const keys = keysOf(6);
    await writeSeqs(client, stream, keys, 300);
    const end = await tailCut(client.controller, client.segmentStore, { scope, stream: 's' });
    await writeSeqs(client, stream, keys, 300, 300); // beyond the end cut
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [{ stream, end: streamCutToText(end) }],
    });
    const readers = [
      await group.createReader('r1', seqSerializer),
      await group.createReader('r2', seqSerializer),
    ];
    const got = await readUntil(readers, { until: (c) => c.ended.size === 2 });
    expect([...got.ended].sort()).toEqual(['r1', 'r2']);
    expectExactlyOnceInOrder(
      got.events.map((e) => e.value),
      keys,
      300,
    );
    expect(await group.isEndOfData()).toBe(true);
    expect(await readers[0]!.readBatch()).toEqual({ kind: 'end' });
    expect(await readers[1]!.readNextEvent()).toEqual({ kind: 'end' });
    // the final positions are the end cut; a checkpoint says so too
    expect((await group.getStreamCuts()).get(stream)!.positions).toEqual(end.positions);
    // everything is read: a checkpoint completes without calling the readers again
    const final = await group.initiateCheckpoint('final', { timeoutMs: 30_000 });
    expect(final.streamCut(stream)!.positions).toEqual(end.positions);
    await closeAll(readers);
  });

  it('a reader whose data was truncated away reports the gap once per segment and reads on at the new head', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const id = { scope, stream: 's' };
    const keys = keysOf(4);
    const before = await headCut(client.controller, id);
    await writeSeqs(client, stream, keys, 100);
    const mid = await tailCut(client.controller, client.segmentStore, id);
    await writeSeqs(client, stream, keys, 100, 100);
    const end = await tailCut(client.controller, client.segmentStore, id);
    // the group starts before the truncation point, as one reset to an old checkpoint
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [{ stream, start: streamCutToText(before), end: streamCutToText(end) }],
    });
    await truncateAndWait(client, id, mid.positions);
    const reader = await group.createReader('r', seqSerializer);
    const got = await readUntil([reader], { until: (c) => c.ended.size === 1 });
    expectExactlyOnceInOrder(
      got.events.map((e) => ({ ...e.value, seq: e.value.seq - 100 })),
      keys,
      100,
    );
    const gaps = got.gaps.map((g) => [g.segment, g.from, g.to]).sort();
    const expected = [...mid.positions].map(([segment, offset]) => [
      got.events.find((e) => e.segment.endsWith(`/${segment}.#epoch.0`))!.segment,
      0n,
      offset,
    ]);
    expect(gaps).toEqual(expected.sort());
    expect((await group.getStreamCuts()).get(stream)!.positions).toEqual(end.positions);
    await reader.close();
  });

  it('a sealed stream read to its end is the end of the data', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const keys = keysOf(4);
    await writeSeqs(client, stream, keys, 100);
    await client.sealStream(stream);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const reader = await group.createReader('r', seqSerializer);
    const got = await readUntil([reader], { until: (c) => c.ended.size === 1 });
    expect(got.events).toHaveLength(400);
    const next = await reader.readNextEvent(100);
    expect(next.kind).toBe('end');
    await reader.close();
  });

  it('reads several streams; a checkpoint has a cut per stream, and resets to it per stream', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const other = `${scope}/t`;
    await client.createStream(other, { scalingPolicy: { type: 'fixed', minSegments: 3 } });
    await writeSeqs(client, stream, ['a', 'b'], 100);
    await writeSeqs(client, other, ['c', 'd', 'e'], 100);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream, other] });
    const reader = await group.createReader('r', seqSerializer);
    expect(await group.unreadBytes()).toBeGreaterThan(0n);
    const got = await readUntil([reader], { until: (c) => c.events.length >= 500 });
    expect(new Set(got.events.map((e) => e.segment.split('/')[1])).size).toBe(2);
    const cp = group.initiateCheckpoint('both');
    // read on (past the marker, which records the reader's part) until the checkpoint completes
    await readUntilSettled([reader], cp);
    const both = await cp;
    expect([...both.streamCuts.keys()].sort()).toEqual([stream, other].sort());
    expect(both.streamCut(other)!.positions.size).toBe(3);
    await reader.close();
    await writeSeqs(client, other, ['c'], 10, 100);
    await group.resetToCheckpoint(both);
    const again = await group.createReader('r', seqSerializer);
    const more = await readUntil([again], { until: (c) => c.events.length >= 10 });
    expect(more.events.map((e) => `${e.value.key}${e.value.seq}`).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `c${100 + i}`).sort(),
    );
    expect(await again.readBatch({ timeoutMs: 300 })).toEqual({ kind: 'events', events: [] });
    await again.close();
  });

  it('starts at a start cut', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const keys = keysOf(4);
    await writeSeqs(client, stream, keys, 100);
    const start = await tailCut(client.controller, client.segmentStore, { scope, stream: 's' });
    await writeSeqs(client, stream, keys, 100, 100);
    const group = await ReaderGroup.create(client, scope, 'g', {
      streams: [{ stream, start }],
    });
    const reader = await group.createReader('r', seqSerializer);
    const got = await readUntil([reader], { until: (c) => c.events.length >= 400 });
    expect(got.events.every((e) => e.value.seq >= 100)).toBe(true);
    expect(new Set(got.events.map(idOf)).size).toBe(400);
    await reader.close();
  });

  it('a reset with readers online puts them out; new readers read from the configured start', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(2);
    const keys = keysOf(4);
    await writeSeqs(client, stream, keys, 100);
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    const old = await group.createReader('r', seqSerializer);
    await readUntil([old], { until: (c) => c.events.length >= 400 });
    const pending = group.initiateCheckpoint('pending', { timeoutMs: 30_000 });
    await group.reset();
    await expect(pending).rejects.toMatchObject({ code: 'CHECKPOINT_FAILED' });
    expect(await group.getGeneration()).toBe(1);
    expect(await group.getOnlineReaders()).toEqual([]);
    // the old reader finds out at its next look at the group
    await expect(
      readUntil([old], { until: () => false, deadlineMs: 30_000 }),
    ).rejects.toMatchObject({ code: 'READER_NOT_IN_GROUP' });
    // the same id may join the new generation
    const fresh = await group.createReader('r', seqSerializer);
    const got = await readUntil([fresh], { until: (c) => c.events.length >= 400 });
    expect(new Set(got.events.map(idOf)).size).toBe(400);
    await fresh.close();
    await old.close(); // nothing to leave: it is out already
    expect(await group.getOnlineReaders()).toEqual([]);
  });

  it('names, duplicates and missing groups give typed errors; delete removes the state', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(1);
    await expect(
      ReaderGroup.create(client, scope, 'bad_name', { streams: [stream] }),
    ).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(ReaderGroup.create(client, scope, 'g', { streams: [] })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await expect(
      ReaderGroup.create(client, scope, 'g', { streams: [`${scope}/missing`] }),
    ).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    await expect(ReaderGroup.get(client, scope, 'g')).rejects.toMatchObject({
      code: 'READER_GROUP_NOT_FOUND',
    });
    const group = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    await expect(
      ReaderGroup.create(client, scope, 'g', { streams: [stream] }),
    ).rejects.toMatchObject({ code: 'READER_GROUP_EXISTS' });
    const same = await ReaderGroup.get(client, scope, 'g');
    expect((await same.getConfig()).streams[0]!.stream).toEqual({ scope, stream: 's' });
    const reader = await group.createReader('r', seqSerializer);
    await expect(group.createReader('r', seqSerializer)).rejects.toMatchObject({
      code: 'ILLEGAL_STATE',
    });
    await expect(group.createReader('no/slash', seqSerializer)).rejects.toMatchObject({
      code: 'INVALID_NAME',
    });
    expect(await group.delete()).toBe(true);
    expect(await group.delete()).toBe(false);
    await expect(group.getOnlineReaders()).rejects.toMatchObject({
      code: 'READER_GROUP_NOT_FOUND',
    });
    await expect(
      readUntil([reader], { until: () => false, deadlineMs: 30_000 }),
    ).rejects.toMatchObject({ code: 'READER_GROUP_NOT_FOUND' });
    await reader.close();
    // the name is free again at once
    const again = await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    expect(await again.getGeneration()).toBe(1);
    expect(await again.getOnlineReaders()).toEqual([]);
  });
});
