import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { ChunkCache } from '../../../src/pravega/embedded/chunk-cache.js';
import { parseLogFileName } from '../../../src/pravega/embedded/wal.js';
import { eventually, frame, readAll, recorder, withStore } from './helpers.js';

/** Log files as byte arrays, and every read the cache makes of them. */
function files(contents: Record<number, Buffer>) {
  const reads: [number, number, number][] = [];
  const read = async (fileNo: number, pos: number, length: number): Promise<Buffer> => {
    reads.push([fileNo, pos, length]);
    const file = contents[fileNo];
    if (file === undefined) throw new Error(`no file ${fileNo}`);
    return Buffer.from(file.subarray(pos, pos + length));
  };
  return { reads, read };
}

describe('log file chunk cache', () => {
  it('reads each chunk once for every view and copy that falls in it', async () => {
    const f1 = randomBytes(10_000);
    const { reads, read } = files({ 1: f1 });
    const cache = new ChunkCache(4096, 8, read);
    expect(await cache.view(1, 100, 50)).toEqual(f1.subarray(100, 150));
    expect(await cache.view(1, 4000, 50)).toEqual(f1.subarray(4000, 4050));
    const out = Buffer.alloc(9000);
    // crosses two chunk boundaries
    await cache.copyInto(1, 500, 9000, out, 0);
    expect(out).toEqual(f1.subarray(500, 9500));
    expect(reads).toEqual([
      [1, 0, 4096],
      [1, 4096, 4096],
      [1, 8192, 4096],
    ]);
  });

  it('clips a view at the end of its chunk: a short read, without a copy', async () => {
    const f1 = randomBytes(10_000);
    const { read } = files({ 1: f1 });
    const cache = new ChunkCache(4096, 8, read);
    const v = await cache.view(1, 4000, 500);
    expect(v.length).toBe(96);
    expect(v).toEqual(f1.subarray(4000, 4096));
    // the last chunk of a file is shorter than the others
    const tail = await cache.view(1, 9000, 4096);
    expect(tail).toEqual(f1.subarray(9000));
  });

  it('evicts the least recently used chunk, and forgets a deleted file', async () => {
    const f1 = randomBytes(4 * 1024);
    const f2 = randomBytes(4 * 1024);
    const { reads, read } = files({ 1: f1, 2: f2 });
    const cache = new ChunkCache(1024, 2, read);
    await cache.view(1, 0, 10); // chunk 1:0
    await cache.view(1, 1024, 10); // chunk 1:1
    await cache.view(1, 0, 10); // 1:0 used again, so 1:1 is now the oldest
    await cache.view(1, 2048, 10); // evicts 1:1
    expect(cache.size).toBe(2);
    await cache.view(1, 0, 10); // still held
    expect(reads.length).toBe(3);
    await cache.view(1, 1024, 10); // read again
    expect(reads.length).toBe(4);
    await cache.view(2, 0, 10);
    cache.dropFile(1);
    expect(cache.size).toBe(1);
    await cache.view(2, 0, 10);
    expect(reads.length).toBe(5);
  });

  it('does not keep a failed read, and says which file ends early', async () => {
    let fail = true;
    const f1 = randomBytes(2048);
    const cache = new ChunkCache(1024, 4, async (_f, pos, length) => {
      if (fail) throw new Error('disk on fire');
      return Buffer.from(f1.subarray(pos, pos + length));
    });
    await expect(cache.view(1, 0, 10)).rejects.toThrow('disk on fire');
    fail = false;
    expect(await cache.view(1, 0, 10)).toEqual(f1.subarray(0, 10));
    const err = await cache.copyInto(1, 2000, 100, Buffer.alloc(100), 0).catch((e: unknown) => e);
    expect(TributaryError.is(err) && err.code).toBe('STORE_CORRUPT');
    expect((err as Error).message).toContain('log-0000000001.wal');
  });
});

describe('embedded store reads of finished log files', () => {
  it('returns every segment byte for byte, interleaved over many files, before and after a reopen', async () => {
    const env = await withStore({ maxLogFileBytes: 256 * 1024 });
    try {
      const segments = ['sc/st/0.#epoch.0', 'sc/st/1.#epoch.0', 'sc/st/2.#epoch.0'];
      const expected = new Map<string, Buffer[]>(segments.map((s) => [s, []]));
      const write = async (from: number, to: number): Promise<void> => {
        const store = env.p.segmentStore;
        const recs = segments.map(() => recorder());
        const sessions = await Promise.all(
          segments.map((s, i) => store.openAppendSession(s, `w${from}`, recs[i]!.handlers)),
        );
        for (let n = from; n < to; n++) {
          segments.forEach((s, i) => {
            // sizes that do not line up with chunks or files
            const event = frame(randomBytes(1 + ((n * 7919 + i * 104_729) % 20_000)));
            expected.get(s)!.push(event);
            sessions[i]!.append(event, 1, BigInt(n - from + 1));
          });
        }
        await eventually(
          () => recs.every((r) => r.lastAck() === BigInt(to - from)),
          'acks of every append',
        );
        for (const s of sessions) s.close();
      };
      for (const s of segments) await env.p.segmentStore.createSegment(s);
      await write(0, 150);
      await env.reopen();
      // everything is in finished files now, then more goes into the current one
      await write(150, 180);
      const logs = (await readdir(env.dir)).filter((n) => parseLogFileName(n) !== undefined);
      expect(logs.length).toBeGreaterThan(10);
      for (const s of segments) {
        const want = Buffer.concat(expected.get(s)!);
        expect((await readAll(env.p.segmentStore, s)).equals(want)).toBe(true);
        // small reads at odd offsets, each at most what was asked
        for (const at of [0, 1, 4095, 1_048_575, 1_048_577, want.length - 3]) {
          if (at >= want.length) continue;
          const r = await env.p.segmentStore.read(s, BigInt(at), 5000);
          expect(r.data.length).toBeGreaterThan(0);
          expect(r.data.length).toBeLessThanOrEqual(5000);
          expect(r.data.equals(want.subarray(at, at + r.data.length))).toBe(true);
        }
      }
    } finally {
      await env.done();
    }
  });
});
