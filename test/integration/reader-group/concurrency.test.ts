import { expect, it } from 'vitest';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/index.js';
import { keysOf } from '../../support/sequences.js';
import { closeAll, idOf, onEachBackend, readUntil, seqSerializer, writeSeqs } from './helpers.js';

onEachBackend('reader group state under concurrent updates', (env) => {
  it('readers joining at once from separate handles all get in, and share the segments evenly', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(8);
    const keys = keysOf(32);
    await writeSeqs(client, stream, keys, 100);
    await ReaderGroup.create(client, scope, 'g', { streams: [stream] });
    // every join is a conditional update of the same state: conflicts are retried, none is lost
    const handles = await Promise.all(
      Array.from({ length: 8 }, () => ReaderGroup.get(client, scope, 'g')),
    );
    const readers = await Promise.all(
      handles.map((h, i) => h.createReader(`r${i}`, seqSerializer)),
    );
    expect((await handles[0]!.getOnlineReaders()).length).toBe(8);
    const got = await readUntil(readers, { until: (c) => c.events.length >= keys.length * 100 });
    const ids = got.events.map(idOf);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(keys.length * 100);
    // one segment each
    for (const r of readers) expect(r.ownedSegments).toHaveLength(1);
    await closeAll(readers);
  });

  it('the same checkpoint name initiated twice at once: one initiates it, the other is refused', async () => {
    const client = env.client();
    const { scope, stream } = await env.freshStream(1);
    const a = await ReaderGroup.create(client, scope, 'g', {
      streams: [stream],
      maxOutstandingCheckpoints: 5,
    });
    const b = await ReaderGroup.get(client, scope, 'g');
    const reader = await a.createReader('r', seqSerializer); // keeps them pending
    const results = await Promise.allSettled([
      a.initiateCheckpoint('same', { timeoutMs: 1_000 }),
      b.initiateCheckpoint('same', { timeoutMs: 1_000 }),
    ]);
    const codes = results
      .map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))
      .sort();
    // the one that initiated it times out waiting (the reader is not reading); the other is refused
    expect(codes).toEqual(['ILLEGAL_ARGUMENT', 'TIMEOUT']);
    expect(await a.getOutstandingCheckpoints()).toEqual(['same']);
    await reader.close();
  });
});
