import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { MAX_APPEND_BYTES, NO_EVENT_NUMBER } from '../../../src/pravega/embedded/segment-store.js';
import { TABLE_KEY_MUST_NOT_EXIST } from '../../../src/pravega/segment/segment-store.js';
import type { SegmentStore } from '../../../src/pravega/segment/segment-store.js';
import {
  eventually,
  frame,
  frameAll,
  readAll,
  readEvents,
  recorder,
  unframe,
  withStore,
} from './helpers.js';

const SEG = 'sc/st/0.#epoch.0';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (TributaryError.is(err)) return err.code;
    throw err;
  }
  return 'no error';
}

describe('embedded segment store', () => {
  let env: Awaited<ReturnType<typeof withStore>>;
  let store: SegmentStore;
  beforeEach(async () => {
    env = await withStore();
    store = env.p.segmentStore;
    expect(await store.createSegment(SEG)).toBe(true);
  });
  afterEach(async () => {
    await env.done();
  });

  it('creates segments once and reports their info', async () => {
    expect(await store.createSegment(SEG)).toBe(false);
    const info = await store.getInfo(SEG);
    expect(info).toMatchObject({ segment: SEG, sealed: false, length: 0n, startOffset: 0n });
    expect(await code(store.getInfo('sc/st/9.#epoch.0'))).toBe('NO_SUCH_SEGMENT');
  });

  it('acknowledges appends cumulatively, only after they are durable, and stores them verbatim', async () => {
    const rec = recorder();
    const s = await store.openAppendSession(SEG, 'w1', rec.handlers);
    expect(s.lastEventNumber).toBeUndefined();
    s.append(frameAll(['a', 'b']), 2, 2n);
    s.append(frame('c'), 1, 3n);
    await eventually(() => rec.lastAck() === 3n, 'ack of event 3');
    // the first ack reports "nothing before" as Long.MIN_VALUE, then the previous ack level
    expect(rec.acks[0]?.[1]).toBe(NO_EVENT_NUMBER);
    for (let i = 1; i < rec.acks.length; i++) {
      expect(rec.acks[i]?.[1]).toBe(rec.acks[i - 1]?.[0]);
    }
    expect(await readEvents(store, SEG)).toEqual(['a', 'b', 'c']);
    expect((await store.getInfo(SEG)).length).toBe(BigInt(frameAll(['a', 'b', 'c']).length));
    expect(rec.failures).toEqual([]);
  });

  it('never writes an event number twice, also across a session reopen and a store restart', async () => {
    const rec = recorder();
    const s = await store.openAppendSession(SEG, 'w1', rec.handlers);
    s.append(frame('e1'), 1, 1n);
    s.append(frame('e2'), 1, 2n);
    // a resend of what is already there is acknowledged but not written
    s.append(frame('e2'), 1, 2n);
    await eventually(() => rec.lastAck() === 2n, 'ack 2');
    s.close();

    const rec2 = recorder();
    const s2 = await store.openAppendSession(SEG, 'w1', rec2.handlers);
    expect(s2.lastEventNumber).toBe(2n);
    s2.append(frameAll(['e1', 'e2']), 2, 2n);
    s2.append(frame('e3'), 1, 3n);
    await eventually(() => rec2.lastAck() === 3n, 'ack 3');
    expect(rec2.acks[0]?.[1]).toBe(2n);

    const p = await env.reopen();
    const rec3 = recorder();
    const s3 = await p.segmentStore.openAppendSession(SEG, 'w1', rec3.handlers);
    expect(s3.lastEventNumber).toBe(3n);
    s3.append(frame('e3'), 1, 3n);
    s3.append(frame('e4'), 1, 4n);
    await eventually(() => rec3.lastAck() === 4n, 'ack 4');
    expect(await readEvents(p.segmentStore, SEG)).toEqual(['e1', 'e2', 'e3', 'e4']);
    // another writer id has its own numbers
    const other = await p.segmentStore.openAppendSession(SEG, 'w2', recorder().handlers);
    expect(other.lastEventNumber).toBeUndefined();
  });

  it('fails a session whose block partly repeats stored events', async () => {
    const rec = recorder();
    const s = await store.openAppendSession(SEG, 'w1', rec.handlers);
    s.append(frameAll(['1', '2']), 2, 2n);
    await eventually(() => rec.lastAck() === 2n, 'ack 2');
    s.append(frameAll(['2', '3']), 2, 3n);
    await eventually(() => rec.failures.length === 1, 'failure');
    expect(TributaryError.is(rec.failures[0], 'INVALID_EVENT_NUMBER')).toBe(true);
    expect(await readEvents(store, SEG)).toEqual(['1', '2']);
  });

  it('fails sessions on sealed and deleted segments, after acking what came before', async () => {
    const rec = recorder();
    const s = await store.openAppendSession(SEG, 'w1', rec.handlers);
    s.append(frame('x'), 1, 1n);
    const length = await store.sealSegment(SEG);
    expect(length).toBe(BigInt(frame('x').length));
    expect(await store.sealSegment(SEG)).toBe(length);
    s.append(frame('y'), 1, 2n);
    await eventually(() => rec.failures.length === 1, 'failure');
    expect(rec.lastAck()).toBe(1n);
    expect(TributaryError.is(rec.failures[0], 'SEGMENT_SEALED')).toBe(true);
    expect(await code(store.openAppendSession(SEG, 'w2', recorder().handlers))).toBe(
      'SEGMENT_SEALED',
    );
    expect((await store.getInfo(SEG)).sealed).toBe(true);

    await store.createSegment('sc/st/1.#epoch.0');
    const rec2 = recorder();
    const s2 = await store.openAppendSession('sc/st/1.#epoch.0', 'w1', rec2.handlers);
    expect(await store.deleteSegment('sc/st/1.#epoch.0')).toBe(true);
    expect(await store.deleteSegment('sc/st/1.#epoch.0')).toBe(false);
    s2.append(frame('z'), 1, 1n);
    await eventually(() => rec2.failures.length === 1, 'failure');
    expect(TributaryError.is(rec2.failures[0], 'NO_SUCH_SEGMENT')).toBe(true);
    expect(await code(store.openAppendSession('sc/st/1.#epoch.0', 'w', recorder().handlers))).toBe(
      'NO_SUCH_SEGMENT',
    );
  });

  it('appends conditionally on the current length', async () => {
    expect(await store.conditionalAppend(SEG, 0n, frame('first'))).toBe(true);
    expect(await store.conditionalAppend(SEG, 0n, frame('again'))).toBe(false);
    const len = BigInt(frame('first').length);
    expect(await store.conditionalAppend(SEG, len, frame('second'))).toBe(true);
    expect(await readEvents(store, SEG)).toEqual(['first', 'second']);
    await store.sealSegment(SEG);
    expect(await code(store.conditionalAppend(SEG, 0n, frame('x')))).toBe('SEGMENT_SEALED');
  });

  it('refuses appends larger than its limit', async () => {
    const huge = Buffer.alloc(MAX_APPEND_BYTES + 1);
    expect(await code(store.conditionalAppend(SEG, 0n, huge))).toBe('EVENT_TOO_LARGE');
    const rec = recorder();
    const s = await store.openAppendSession(SEG, 'w', rec.handlers);
    s.append(huge, 1, 1n);
    await eventually(() => rec.failures.length === 1, 'failure');
    expect(TributaryError.is(rec.failures[0], 'EVENT_TOO_LARGE')).toBe(true);
    expect((await store.getInfo(SEG)).length).toBe(0n);
  });

  it('reads at most the suggested length, possibly mid-event, and ends sealed segments', async () => {
    const data = frameAll(['alpha', 'beta', 'gamma']);
    await store.conditionalAppend(SEG, 0n, data);
    const r1 = await store.read(SEG, 0n, 10);
    expect(r1).toMatchObject({ offset: 0n, atTail: false, endOfSegment: false });
    expect(r1.data).toEqual(data.subarray(0, 10));
    const r2 = await store.read(SEG, 10n, 1000);
    expect(r2.data).toEqual(data.subarray(10));
    expect(r2).toMatchObject({ atTail: true, endOfSegment: false });
    await store.sealSegment(SEG);
    const r3 = await store.read(SEG, 10n, 1000);
    expect(r3).toMatchObject({ atTail: true, endOfSegment: true });
    const r4 = await store.read(SEG, BigInt(data.length), 1000);
    expect(r4).toMatchObject({ atTail: true, endOfSegment: true, data: Buffer.alloc(0) });
  });

  it('long-polls at the tail until data, a seal, or the abort signal', async () => {
    const pending = store.read(SEG, 0n, 100);
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    const s = await store.openAppendSession(SEG, 'w', recorder().handlers);
    s.append(frame('late'), 1, 1n);
    const r = await pending;
    expect(unframe(r.data)).toEqual(['late']);

    const ac = new AbortController();
    const waiting = store.read(SEG, r.offset + BigInt(r.data.length), 100, ac.signal);
    ac.abort();
    expect(await code(waiting)).toBe('CANCELLED');
    expect(await code(store.read(SEG, 0n, 100, ac.signal))).toBe('CANCELLED');

    const waitSeal = store.read(SEG, r.offset + BigInt(r.data.length), 100);
    await store.sealSegment(SEG);
    expect(await waitSeal).toMatchObject({ endOfSegment: true });

    await store.createSegment('sc/st/2.#epoch.0');
    const waitDelete = store.read('sc/st/2.#epoch.0', 0n, 100);
    await store.deleteSegment('sc/st/2.#epoch.0');
    expect(await code(waitDelete)).toBe('NO_SUCH_SEGMENT');
  });

  it('truncates: reads below the start offset fail with the start offset', async () => {
    const data = frameAll(['one', 'two', 'three']);
    await store.conditionalAppend(SEG, 0n, data);
    const cut = BigInt(frame('one').length);
    await store.truncateSegment(SEG, cut);
    await store.truncateSegment(SEG, 0n); // behind the start: nothing happens
    const info = await store.getInfo(SEG);
    expect(info.startOffset).toBe(cut);
    expect(info.length).toBe(BigInt(data.length));
    try {
      await store.read(SEG, 0n, 100);
      expect.unreachable();
    } catch (err) {
      expect(TributaryError.is(err, 'SEGMENT_TRUNCATED')).toBe(true);
      expect((err as TributaryError).details.startOffset).toBe(cut);
    }
    expect(unframe(await readAll(store, SEG, cut))).toEqual(['two', 'three']);
    expect(await code(store.truncateSegment(SEG, 10_000n))).toBe('ILLEGAL_ARGUMENT');
    const p = await env.reopen();
    expect((await p.segmentStore.getInfo(SEG)).startOffset).toBe(cut);
    expect(unframe(await readAll(p.segmentStore, SEG))).toEqual(['two', 'three']);
  });

  it('merges sources atomically and idempotently', async () => {
    const t1 = `${SEG}#transaction.00000000000000000000000000000001`;
    const t2 = `${SEG}#transaction.00000000000000000000000000000002`;
    await store.createSegment(t1);
    await store.createSegment(t2);
    await store.conditionalAppend(SEG, 0n, frame('base'));
    const r1 = recorder();
    const s1 = await store.openAppendSession(t1, 'w', r1.handlers);
    s1.append(frameAll(['t1a', 't1b']), 2, 2n);
    await store.conditionalAppend(t2, 0n, frame('t2'));
    const len = await store.mergeSegments(SEG, [t1, t2]);
    expect(len).toBe(BigInt(frameAll(['base', 't1a', 't1b', 't2']).length));
    expect(await readEvents(store, SEG)).toEqual(['base', 't1a', 't1b', 't2']);
    // merging again is a no-op
    expect(await store.mergeSegments(SEG, [t1, t2])).toBe(len);
    expect(await code(store.getInfo(t1))).toBe('NO_SUCH_SEGMENT');
    s1.append(frame('late'), 1, 3n);
    await eventually(() => r1.failures.length === 1, 'failure after merge');
    expect(
      await code(store.mergeSegments(SEG, [`${SEG}#transaction.0000000000000000000000000000000f`])),
    ).toBe('NO_SUCH_SEGMENT');
    const p = await env.reopen();
    expect(await readEvents(p.segmentStore, SEG)).toEqual(['base', 't1a', 't1b', 't2']);
    expect(await p.segmentStore.mergeSegments(SEG, [t1])).toBe(len);
  });

  it('keeps attributes with compare-and-set and segment policies', async () => {
    expect(await store.getAttribute(SEG, 'a')).toBeUndefined();
    expect(await store.updateAttribute(SEG, 'a', 5n, 1n)).toBe(false);
    expect(await store.updateAttribute(SEG, 'a', 5n, undefined)).toBe(true);
    expect(await store.updateAttribute(SEG, 'a', 6n, undefined)).toBe(false);
    expect(await store.updateAttribute(SEG, 'a', 6n, 5n)).toBe(true);
    expect(await store.getAttribute(SEG, 'a')).toBe(6n);
    await store.updateSegmentPolicy(SEG, { type: 'eventRate', targetRate: 10 });
    expect(await code(store.updateSegmentPolicy('nope', { type: 'none', targetRate: 0 }))).toBe(
      'NO_SUCH_SEGMENT',
    );
    const p = await env.reopen();
    expect(await p.segmentStore.getAttribute(SEG, 'a')).toBe(6n);
  });

  describe('table segments', () => {
    const T = 'sc/_tables/rg.#epoch.0';
    const k = (s: string): Buffer => Buffer.from(s);

    it('updates and removes atomically with version conditions', async () => {
      expect(await store.createTableSegment(T)).toBe(true);
      expect(await store.createTableSegment(T)).toBe(false);
      const [va0, vb0] = await store.tableUpdate(T, [
        { key: k('a'), value: k('1'), version: TABLE_KEY_MUST_NOT_EXIST },
        { key: k('b'), value: k('2') },
      ]);
      if (va0 === undefined || vb0 === undefined) throw new Error('no versions');
      const va = va0;
      const vb = vb0;
      const got = await store.tableGet(T, [k('a'), k('zz'), k('b')]);
      expect(got.map((e) => e?.value.toString())).toEqual(['1', undefined, '2']);
      expect(got[0]?.version).toBe(va);

      // a failed condition changes nothing, also for the other entries of the batch
      const bad = store.tableUpdate(T, [
        { key: k('c'), value: k('3') },
        { key: k('a'), value: k('x'), version: TABLE_KEY_MUST_NOT_EXIST },
      ]);
      expect(await code(bad)).toBe('TABLE_KEY_BAD_VERSION');
      expect(
        await code(store.tableUpdate(T, [{ key: k('a'), value: k('x'), version: va + 100n }])),
      ).toBe('TABLE_KEY_BAD_VERSION');
      expect(await code(store.tableUpdate(T, [{ key: k('q'), value: k('x'), version: 0n }]))).toBe(
        'TABLE_KEY_NOT_FOUND',
      );
      expect((await store.tableGet(T, [k('c')]))[0]).toBeUndefined();

      const [va2 = -5n] = await store.tableUpdate(T, [
        { key: k('a'), value: k('11'), version: va },
      ]);
      expect(va2).not.toBe(va);
      expect(await code(store.tableRemove(T, [{ key: k('a'), version: va }]))).toBe(
        'TABLE_KEY_BAD_VERSION',
      );
      await store.tableRemove(T, [{ key: k('a'), version: va2 }, { key: k('never') }]);
      expect((await store.tableGet(T, [k('a')]))[0]).toBeUndefined();
      expect(await code(store.deleteTableSegment(T, true))).toBe('TABLE_NOT_EMPTY');

      const p = await env.reopen();
      const after = await p.segmentStore.tableGet(T, [k('a'), k('b')]);
      expect(after[0]).toBeUndefined();
      expect(after[1]?.value.toString()).toBe('2');
      expect(after[1]?.version).toBe(vb);
      // versions keep growing after a restart
      const [vb2] = await p.segmentStore.tableUpdate(T, [
        { key: k('b'), value: k('3'), version: vb },
      ]);
      expect(vb2).toBeGreaterThan(va2);
      expect(await p.segmentStore.deleteTableSegment(T, false)).toBe(true);
      expect(await p.segmentStore.deleteTableSegment(T, false)).toBe(false);
    });

    it('iterates entries in pages until an empty page', async () => {
      await store.createTableSegment(T);
      const keys = Array.from({ length: 25 }, (_, i) => `key-${i}`);
      await store.tableUpdate(
        T,
        keys.map((key) => ({ key: k(key), value: k(`v-${key}`) })),
      );
      const seen: string[] = [];
      let token: Buffer | undefined;
      let pages = 0;
      for (;;) {
        const page = await store.tableReadEntries(T, token, 10);
        pages++;
        if (page.entries.length === 0) break;
        expect(page.entries.length).toBeLessThanOrEqual(10);
        for (const e of page.entries) {
          expect(e.value.toString()).toBe(`v-${e.key.toString()}`);
          seen.push(e.key.toString());
        }
        token = page.continuationToken;
      }
      expect(pages).toBe(4);
      expect(seen.sort()).toEqual([...keys].sort());
    });
  });

  it('rejects calls after close', async () => {
    await store.close();
    expect(await code(store.getInfo(SEG))).toBe('CLOSED');
  });
});
