import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { Controller } from '../../../src/pravega/controller/controller.js';
import type { SegmentWithRange, StreamId } from '../../../src/pravega/controller/types.js';
import {
  epochOf,
  segmentIdOf,
  segmentName,
  segmentNumberOf,
  transactionSegmentName,
  txnEpochOf,
} from '../../../src/pravega/protocol/segment-name.js';
import type { SegmentStore } from '../../../src/pravega/segment/segment-store.js';
import type { EmbeddedOptions } from '../../../src/pravega/embedded/index.js';
import { eventually, frameAll, readEvents, recorder, withStore } from './helpers.js';

const S: StreamId = { scope: 'sc', stream: 'st' };
const fixed = (n: number) => ({ scalingPolicy: { type: 'fixed' as const, minSegments: n } });
const nameOf = (id: bigint): string => segmentName(S.scope, S.stream, id);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (TributaryError.is(err)) return err.code;
    throw err;
  }
  return 'no error';
}

async function append(store: SegmentStore, segment: string, events: string[]): Promise<void> {
  const info = await store.getInfo(segment);
  expect(await store.conditionalAppend(segment, info.length, frameAll(events))).toBe(true);
}

/**
 * Reads a whole stream the way a reader group does: from the head, a segment to its end, then its
 * successors, each only once all its predecessors are done. @returns segments in reading order
 */
async function readStream(
  controller: Controller,
  store: SegmentStore,
  stream: StreamId,
): Promise<{ seg: SegmentWithRange; events: string[] }[]> {
  const head = await controller.getHeadSegments(stream);
  const ranges = new Map<bigint, SegmentWithRange>();
  for (let e = 0; ; e++) {
    let segs: SegmentWithRange[];
    try {
      segs = await controller.getEpochSegments(stream, e);
    } catch {
      break;
    }
    for (const s of segs) ranges.set(s.segment.segmentId, s);
  }
  const done = new Set<bigint>();
  const waiting = new Map<bigint, Set<bigint>>();
  const ready: bigint[] = [...head.keys()];
  const out: { seg: SegmentWithRange; events: string[] }[] = [];
  while (ready.length > 0) {
    const id = ready.shift() ?? 0n;
    const seg = ranges.get(id);
    if (seg === undefined) throw new Error(`unknown segment ${id}`);
    out.push({
      seg,
      events: await readEvents(store, segmentName(stream.scope, stream.stream, id)),
    });
    done.add(id);
    for (const succ of await controller.getSuccessors(seg.segment)) {
      const sid = succ.segment.segment.segmentId;
      const pending = waiting.get(sid) ?? new Set(succ.predecessors);
      for (const p of [...pending]) if (done.has(p)) pending.delete(p);
      waiting.set(sid, pending);
      if (pending.size === 0 && !done.has(sid) && !ready.includes(sid)) ready.push(sid);
    }
  }
  return out;
}

/** The events a reader sees for one routing key (key position in [0, 1)). */
function eventsForKey(order: { seg: SegmentWithRange; events: string[] }[], key: number): string[] {
  return order.filter((o) => o.seg.minKey <= key && key < o.seg.maxKey).flatMap((o) => o.events);
}

describe('embedded controller', () => {
  let env: Awaited<ReturnType<typeof withStore>>;
  let controller: Controller;
  let store: SegmentStore;
  const open = async (options?: EmbeddedOptions): Promise<void> => {
    env = await withStore(options);
    controller = env.p.controller;
    store = env.p.segmentStore;
    await controller.createScope('sc');
  };
  afterEach(async () => {
    await env.done();
  });

  describe('scopes and streams', () => {
    beforeEach(() => open());

    it('creates, lists and deletes scopes', async () => {
      expect(await controller.createScope('sc')).toBe(false);
      expect(await controller.createScope('other')).toBe(true);
      expect(await controller.scopeExists('other')).toBe(true);
      const scopes: string[] = [];
      for await (const s of controller.listScopes()) scopes.push(s);
      expect(scopes).toEqual(['other', 'sc']);
      await controller.createStream({ scope: 'other', stream: 'x' }, fixed(1));
      expect(await code(controller.deleteScope('other'))).toBe('SCOPE_NOT_EMPTY');
      await controller.sealStream({ scope: 'other', stream: 'x' });
      await controller.deleteStream({ scope: 'other', stream: 'x' });
      expect(await controller.deleteScope('other')).toBe(true);
      expect(await controller.deleteScope('other')).toBe(false);
      expect(await code(controller.createScope('bad/name'))).toBe('INVALID_NAME');
    });

    it('creates streams with equal key ranges and Pravega segment names', async () => {
      expect(await controller.createStream(S, fixed(3))).toBe(true);
      expect(await controller.createStream(S, fixed(5))).toBe(false);
      const segs = await controller.getCurrentSegments(S);
      expect(segs.map((s) => [s.segment.segmentId, s.minKey, s.maxKey])).toEqual([
        [0n, 0, 1 / 3],
        [1n, 1 / 3, 2 / 3],
        [2n, 2 / 3, 1],
      ]);
      for (const s of segs) {
        const info = await store.getInfo(nameOf(s.segment.segmentId));
        expect(info.segment).toBe(`sc/st/${s.segment.segmentId}.#epoch.0`);
      }
      expect(await controller.getHeadSegments(S)).toEqual(
        new Map([
          [0n, 0n],
          [1n, 0n],
          [2n, 0n],
        ]),
      );
      expect(await controller.getStreamConfig(S)).toEqual(fixed(3));
      expect(await controller.streamExists(S)).toBe(true);
      expect(await controller.streamExists({ scope: 'sc', stream: 'nope' })).toBe(false);
      expect(await code(controller.createStream({ scope: 'nope', stream: 'x' }, fixed(1)))).toBe(
        'SCOPE_NOT_FOUND',
      );
      expect(await code(controller.getCurrentSegments({ scope: 'sc', stream: 'nope' }))).toBe(
        'STREAM_NOT_FOUND',
      );
      const err = await controller
        .createStream({ scope: 'sc', stream: 'bad' }, fixed(0))
        .catch((e: unknown) => e);
      expect(TributaryError.is(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('scalingPolicy.minSegments');

      await controller.createStream({ scope: 'sc', stream: '_RGgroup' }, fixed(1));
      const listed: string[] = [];
      for await (const s of controller.listStreams('sc')) listed.push(s.stream);
      expect(listed).toEqual(['st']);
      expect(await controller.getEndpoint(segs[0]?.segment ?? { ...S, segmentId: 0n })).toEqual({
        host: 'embedded',
        port: 0,
      });
      expect(await controller.getDelegationToken(S, 'readWrite')).toBe('');
    });

    it('updates the configuration of a stream', async () => {
      await controller.createStream(S, fixed(1));
      const cfg = {
        scalingPolicy: {
          type: 'byEventRate' as const,
          targetRate: 10,
          scaleFactor: 2,
          minSegments: 1,
        },
        retentionPolicy: { type: 'size' as const, minBytes: 1000n },
      };
      await controller.updateStream(S, cfg);
      expect(await controller.getStreamConfig(S)).toEqual(cfg);
      const p = await env.reopen();
      expect(await p.controller.getStreamConfig(S)).toEqual(cfg);
    });

    it('seals (all segments) before it deletes; a recreated stream gets fresh segment numbers', async () => {
      await controller.createStream(S, fixed(2));
      await append(store, nameOf(0n), ['a']);
      expect(await code(controller.deleteStream(S))).toBe('STREAM_NOT_SEALED');
      await controller.sealStream(S);
      await controller.sealStream(S);
      expect((await store.getInfo(nameOf(0n))).sealed).toBe(true);
      expect((await store.getInfo(nameOf(1n))).sealed).toBe(true);
      expect(await controller.getCurrentSegments(S)).toEqual([]);
      expect(await code(controller.scale(S, [0n], [[0, 0.5]]))).toBe('STREAM_SEALED');
      expect(await code(controller.createTransaction(S, 10_000))).toBe('STREAM_SEALED');
      expect(await code(controller.updateStream(S, fixed(2)))).toBe('STREAM_SEALED');
      expect(await controller.deleteStream(S)).toBe(true);
      expect(await controller.deleteStream(S)).toBe(false);
      expect(await code(store.getInfo(nameOf(0n)))).toBe('NO_SUCH_SEGMENT');
      await controller.createStream(S, fixed(2));
      const ids = (await controller.getCurrentSegments(S)).map((s) => s.segment.segmentId);
      expect(ids).toEqual([2n, 3n]);
    });
  });

  describe('scaling', () => {
    beforeEach(async () => {
      await open();
      await controller.createStream(S, fixed(2));
    });

    it('splits and merges with new epochs, fresh numbers, successors and predecessors', async () => {
      const r = await controller.scale(
        S,
        [0n],
        [
          [0, 0.25],
          [0.25, 0.5],
        ],
      );
      expect(r.epoch).toBe(0);
      expect(await controller.checkScale(S, r.epoch)).toBe('success');
      expect(await controller.checkScale(S, 7)).toBe('invalidInput');
      const a = segmentIdOf(1, 2);
      const b = segmentIdOf(1, 3);
      expect(r.segments.map((s) => [s.segment.segmentId, s.minKey, s.maxKey])).toEqual([
        [a, 0, 0.25],
        [b, 0.25, 0.5],
      ]);
      expect((await store.getInfo(nameOf(0n))).sealed).toBe(true);
      expect((await store.getInfo(nameOf(a))).segment).toBe('sc/st/2.#epoch.1');
      const cur = await controller.getCurrentSegments(S);
      expect(cur.map((s) => s.segment.segmentId)).toEqual([a, b, 1n]);
      const succ = await controller.getSuccessors({ ...S, segmentId: 0n });
      expect(succ.map((s) => [s.segment.segment.segmentId, s.predecessors])).toEqual([
        [a, [0n]],
        [b, [0n]],
      ]);
      expect(await controller.getSuccessors({ ...S, segmentId: 1n })).toEqual([]);

      const m = await controller.scale(S, [a, b, 1n], [[0, 1]]);
      expect(m.epoch).toBe(1);
      const c = segmentIdOf(2, 4);
      expect(m.segments.map((s) => s.segment.segmentId)).toEqual([c]);
      for (const id of [a, b, 1n]) {
        const s = await controller.getSuccessors({ ...S, segmentId: id });
        expect(s.map((x) => x.segment.segment.segmentId)).toEqual([c]);
        expect([...(s[0]?.predecessors ?? [])].sort()).toEqual([1n, a, b].sort());
      }
      expect((await controller.getEpochSegments(S, 1)).map((s) => s.segment.segmentId)).toEqual([
        a,
        b,
        1n,
      ]);
      expect(await code(controller.getEpochSegments(S, 9))).toBe('ILLEGAL_ARGUMENT');
      const all = await controller.getSegmentsBetween(S, new Map(), new Map());
      expect(all.map((s) => s.segmentId)).toEqual([0n, 1n, a, b, c]);
      const fromEpoch1 = await controller.getSegmentsBetween(
        S,
        new Map([
          [a, 0n],
          [b, 0n],
          [1n, 0n],
        ]),
        new Map([[c, 0n]]),
      );
      expect(fromEpoch1.map((s) => s.segmentId)).toEqual([1n, a, b, c]);
      const upToEpoch1 = await controller.getSegmentsBetween(
        S,
        new Map(),
        new Map([
          [a, 0n],
          [b, 0n],
          [1n, 0n],
        ]),
      );
      expect(upToEpoch1.map((s) => s.segmentId)).toEqual([0n, 1n, a, b]);

      const p = await env.reopen();
      expect((await p.controller.getCurrentSegments(S)).map((s) => s.segment.segmentId)).toEqual([
        c,
      ]);
      expect(
        (await p.controller.getSuccessors({ ...S, segmentId: 0n })).map(
          (s) => s.segment.segment.segmentId,
        ),
      ).toEqual([a, b]);
    });

    it('refuses scales that do not match the sealed ranges', async () => {
      expect(await code(controller.scale(S, [0n], [[0, 0.4]]))).toBe('SCALE_FAILED');
      expect(
        await code(
          controller.scale(
            S,
            [0n],
            [
              [0, 0.3],
              [0.2, 0.5],
            ],
          ),
        ),
      ).toBe('SCALE_FAILED');
      expect(await code(controller.scale(S, [7n], [[0, 0.5]]))).toBe('SCALE_FAILED');
      expect(await code(controller.scale(S, [0n], [[0.5, 1]]))).toBe('SCALE_FAILED');
      expect((await controller.getCurrentSegments(S)).length).toBe(2);
    });

    it('fails a writer on a scaled segment so it can move to the successors', async () => {
      const rec = recorder();
      const s = await store.openAppendSession(nameOf(0n), 'w', rec.handlers);
      s.append(frameAll(['before']), 1, 1n);
      await eventually(() => rec.lastAck() === 1n, 'ack');
      await controller.scale(
        S,
        [0n],
        [
          [0, 0.25],
          [0.25, 0.5],
        ],
      );
      s.append(frameAll(['after']), 1, 2n);
      await eventually(() => rec.failures.length === 1, 'failure');
      expect(TributaryError.is(rec.failures[0], 'SEGMENT_SEALED')).toBe(true);
      const r = await store.read(nameOf(0n), 0n, 1000);
      expect(r.endOfSegment).toBe(true);
    });

    it('truncates at a stream cut: deletes what lies before, moves the head', async () => {
      await append(store, nameOf(0n), ['a0', 'a1']);
      await append(store, nameOf(1n), ['b0', 'b1']);
      await controller.scale(
        S,
        [0n],
        [
          [0, 0.25],
          [0.25, 0.5],
        ],
      );
      const a = segmentIdOf(1, 2);
      const b = segmentIdOf(1, 3);
      await append(store, nameOf(a), ['c0', 'c1']);
      await append(store, nameOf(b), ['d0']);
      const one = BigInt(frameAll(['xx']).length);
      const cut = new Map([
        [a, one],
        [b, 0n],
        [1n, one],
      ]);
      expect(await code(controller.truncateStream(S, new Map([[a, 0n]])))).toBe('ILLEGAL_ARGUMENT');
      expect(
        await code(
          controller.truncateStream(
            S,
            new Map([
              [0n, 0n],
              [a, 0n],
              [b, 0n],
              [1n, 0n],
            ]),
          ),
        ),
      ).toBe('ILLEGAL_ARGUMENT');
      await controller.truncateStream(S, cut);
      expect(await controller.getHeadSegments(S)).toEqual(cut);
      expect(await code(store.getInfo(nameOf(0n)))).toBe('NO_SUCH_SEGMENT');
      expect(await code(store.read(nameOf(1n), 0n, 100))).toBe('SEGMENT_TRUNCATED');
      expect(await readEvents(store, nameOf(1n))).toEqual(['b1']);
      expect(await readEvents(store, nameOf(a))).toEqual(['c1']);
      const between = await controller.getSegmentsBetween(S, new Map(), new Map());
      expect(between.map((s) => s.segmentId)).toEqual([1n, a, b]);
      const p = await env.reopen();
      expect(await p.controller.getHeadSegments(S)).toEqual(cut);
      expect(await readEvents(p.segmentStore, nameOf(a))).toEqual(['c1']);
    });
  });

  describe('transactions', () => {
    beforeEach(async () => {
      await open({ transactions: { maxExecutionMs: 30_000 } });
      await controller.createStream(S, fixed(2));
    });

    it('enforces lease bounds', async () => {
      expect(await code(controller.createTransaction(S, 9_999))).toBe('TXN_LEASE_INVALID');
      expect(await code(controller.createTransaction(S, 600_001))).toBe('TXN_LEASE_INVALID');
      expect(await code(controller.createTransaction({ scope: 'sc', stream: 'no' }, 10_000))).toBe(
        'STREAM_NOT_FOUND',
      );
    });

    it('commits by merging every transaction segment into its parent, durably and idempotently', async () => {
      await append(store, nameOf(0n), ['pre0']);
      const txn = await controller.createTransaction(S, 10_000);
      expect(txnEpochOf(txn.txnId)).toBe(0);
      expect(txn.delegationToken).toBe('');
      expect(txn.segments.map((s) => [s.segment.segmentId, s.minKey, s.maxKey])).toEqual([
        [0n, 0, 0.5],
        [1n, 0.5, 1],
      ]);
      const t0 = transactionSegmentName(nameOf(0n), txn.txnId);
      const t1 = transactionSegmentName(nameOf(1n), txn.txnId);
      const rec = recorder();
      const w = await store.openAppendSession(t0, 'tw', rec.handlers);
      w.append(frameAll(['tx0a', 'tx0b']), 2, 2n);
      await eventually(() => rec.lastAck() === 2n, 'txn ack');
      await append(store, t1, ['tx1']);
      expect(await readEvents(store, nameOf(0n))).toEqual(['pre0']);
      expect(await controller.checkTransactionState(S, txn.txnId)).toBe('open');
      expect(await controller.pingTransaction(S, txn.txnId, 10_000)).toBe('ok');
      expect(await controller.pingTransaction(S, txn.txnId, 600_001)).toBe('leaseTooLarge');
      expect(await controller.pingTransaction(S, txn.txnId, 60_000)).toBe(
        'maxExecutionTimeExceeded',
      );

      await controller.commitTransaction(S, txn.txnId, 'writer-1');
      expect(await controller.checkTransactionState(S, txn.txnId)).toBe('committed');
      await controller.commitTransaction(S, txn.txnId);
      expect(await readEvents(store, nameOf(0n))).toEqual(['pre0', 'tx0a', 'tx0b']);
      expect(await readEvents(store, nameOf(1n))).toEqual(['tx1']);
      expect(await code(store.getInfo(t0))).toBe('NO_SUCH_SEGMENT');
      expect(await controller.pingTransaction(S, txn.txnId, 10_000)).toBe('committed');
      expect(await code(controller.abortTransaction(S, txn.txnId))).toBe('TXN_FAILED');

      const p = await env.reopen();
      expect(await p.controller.checkTransactionState(S, txn.txnId)).toBe('committed');
      expect(await readEvents(p.segmentStore, nameOf(0n))).toEqual(['pre0', 'tx0a', 'tx0b']);
    });

    it('aborts by deleting the transaction segments', async () => {
      const txn = await controller.createTransaction(S, 10_000);
      const t0 = transactionSegmentName(nameOf(0n), txn.txnId);
      await append(store, t0, ['never']);
      await controller.abortTransaction(S, txn.txnId);
      await controller.abortTransaction(S, txn.txnId);
      expect(await controller.checkTransactionState(S, txn.txnId)).toBe('aborted');
      expect(await controller.pingTransaction(S, txn.txnId, 10_000)).toBe('aborted');
      expect(await code(store.getInfo(t0))).toBe('NO_SUCH_SEGMENT');
      expect(await code(controller.commitTransaction(S, txn.txnId))).toBe('TXN_FAILED');
      expect(await readEvents(store, nameOf(0n))).toEqual([]);
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect(await controller.checkTransactionState(S, unknown)).toBe('unknown');
      expect(await controller.pingTransaction(S, unknown, 10_000)).toBe('unknown');
      expect(await code(controller.commitTransaction(S, unknown))).toBe('TXN_NOT_FOUND');
      expect(await code(controller.abortTransaction(S, unknown))).toBe('TXN_NOT_FOUND');
    });

    it('keeps an open transaction across a restart and commits it afterwards', async () => {
      const txn = await controller.createTransaction(S, 10_000);
      await append(store, transactionSegmentName(nameOf(1n), txn.txnId), ['kept']);
      const p = await env.reopen();
      expect(await p.controller.checkTransactionState(S, txn.txnId)).toBe('open');
      await p.controller.commitTransaction(S, txn.txnId);
      expect(await readEvents(p.segmentStore, nameOf(1n))).toEqual(['kept']);
    });

    it('sealing a stream aborts its open transactions', async () => {
      const txn = await controller.createTransaction(S, 10_000);
      await controller.sealStream(S);
      expect(await controller.checkTransactionState(S, txn.txnId)).toBe('aborted');
    });

    it('names transaction segments after the transaction epoch and merges them into the live parents', async () => {
      await controller.scale(
        S,
        [0n],
        [
          [0, 0.25],
          [0.25, 0.5],
        ],
      );
      const txn = await controller.createTransaction(S, 10_000);
      expect(txnEpochOf(txn.txnId)).toBe(1);
      // segment 1 was created in epoch 0: in the transaction it is generalized to epoch 1
      expect(txn.segments.map((s) => s.segment.segmentId)).toEqual([
        segmentIdOf(1, 2),
        segmentIdOf(1, 3),
        segmentIdOf(1, 1),
      ]);
      const txnSeg = transactionSegmentName(nameOf(segmentIdOf(1, 1)), txn.txnId);
      expect(txnSeg).toBe(`sc/st/1.#epoch.1#transaction.${txn.txnId.replaceAll('-', '')}`);
      await append(store, txnSeg, ['in-txn']);
      await controller.commitTransaction(S, txn.txnId);
      expect(await readEvents(store, nameOf(1n))).toEqual(['in-txn']);
      // no rolling needed: the epoch did not change
      expect((await controller.getCurrentSegments(S)).length).toBe(3);
      expect(await code(controller.getEpochSegments(S, 2))).toBe('ILLEGAL_ARGUMENT');
    });

    it('commits a transaction from before a scale as a rolling transaction, keeping per-key order', async () => {
      // epoch 0: segments 0 [0, .5) and 1 [.5, 1)
      await append(store, nameOf(0n), ['k1:pre']);
      await append(store, nameOf(1n), ['k2:pre']);
      const txn = await controller.createTransaction(S, 10_000);
      await append(store, transactionSegmentName(nameOf(0n), txn.txnId), ['k1:txn']);
      await append(store, transactionSegmentName(nameOf(1n), txn.txnId), ['k2:txn']);
      // epoch 1: segment 0 split into 2 [0, .25) and 3 [.25, .5)
      await controller.scale(
        S,
        [0n],
        [
          [0, 0.25],
          [0.25, 0.5],
        ],
      );
      await append(store, nameOf(segmentIdOf(1, 2)), ['k1:mid']);
      await append(store, nameOf(segmentIdOf(1, 3)), ['k3:mid']);
      await append(store, nameOf(1n), ['k2:mid']);

      await controller.commitTransaction(S, txn.txnId);
      expect(await controller.checkTransactionState(S, txn.txnId)).toBe('committed');
      // epoch 2 duplicates epoch 0 (and holds the txn, sealed), epoch 3 duplicates epoch 1
      const e2 = await controller.getEpochSegments(S, 2);
      expect(
        e2.map((s) => [segmentNumberOf(s.segment.segmentId), epochOf(s.segment.segmentId)]),
      ).toEqual([
        [0, 2],
        [1, 2],
      ]);
      const current = await controller.getCurrentSegments(S);
      expect(
        current.map((s) => [segmentNumberOf(s.segment.segmentId), epochOf(s.segment.segmentId)]),
      ).toEqual([
        [2, 3],
        [3, 3],
        [1, 3],
      ]);
      for (const s of current) {
        await append(store, nameOf(s.segment.segmentId), [`post@${s.minKey}`]);
      }
      const order = await readStream(controller, store, S);
      // key 0.1 lives in 0, then 2, then (txn) 0.#epoch.2, then 2.#epoch.3
      expect(eventsForKey(order, 0.1)).toEqual(['k1:pre', 'k1:mid', 'k1:txn', 'post@0']);
      expect(eventsForKey(order, 0.3)).toEqual(['k1:pre', 'k3:mid', 'k1:txn', 'post@0.25']);
      expect(eventsForKey(order, 0.7)).toEqual(['k2:pre', 'k2:mid', 'k2:txn', 'post@0.5']);
      // a writer on an old segment is told to move on
      expect((await store.getInfo(nameOf(1n))).sealed).toBe(true);

      const p = await env.reopen();
      const again = await readStream(p.controller, p.segmentStore, S);
      expect(eventsForKey(again, 0.1)).toEqual(['k1:pre', 'k1:mid', 'k1:txn', 'post@0']);
    });
  });

  describe('background policies', () => {
    it('aborts a transaction whose lease lapses', async () => {
      await open({ transactions: { minLeaseMs: 50, checkIntervalMs: 20 } });
      await controller.createStream(S, fixed(1));
      const txn = await controller.createTransaction(S, 100);
      const seg = transactionSegmentName(nameOf(0n), txn.txnId);
      await append(store, seg, ['doomed']);
      await eventually(
        async () => (await controller.checkTransactionState(S, txn.txnId)) === 'aborted',
        'lease expiry',
      );
      expect(await code(store.getInfo(seg))).toBe('NO_SUCH_SEGMENT');
      expect(await code(controller.commitTransaction(S, txn.txnId))).toBe('TXN_FAILED');
    });

    it('splits a hot segment by event rate and merges segments back when traffic stops', async () => {
      await open({ autoScale: { checkIntervalMs: 30, windowMs: 60, cooldownMs: 0 } });
      const cfg = {
        scalingPolicy: {
          type: 'byEventRate' as const,
          targetRate: 1000,
          scaleFactor: 3,
          minSegments: 1,
        },
      };
      await controller.createStream(S, cfg);
      const rec = recorder();
      const w = await store.openAppendSession(nameOf(0n), 'hot', rec.handlers);
      const block = frameAll(Array.from({ length: 100 }, (_, i) => `e${i}`));
      let n = 0n;
      let split = false;
      await eventually(async () => {
        for (let i = 0; i < 5 && rec.failures.length === 0; i++) {
          n += 100n;
          w.append(block, 100, n);
        }
        split = (await controller.getCurrentSegments(S)).length > 1;
        return split || rec.failures.length > 0;
      }, 'a split');
      const successors = await controller.getSuccessors({ ...S, segmentId: 0n });
      expect(successors.length).toBeGreaterThanOrEqual(2);
      expect(successors.length).toBeLessThanOrEqual(3);
      expect(successors[0]?.segment.minKey).toBe(0);
      expect(successors[successors.length - 1]?.segment.maxKey).toBe(1);
      for (const s of successors) expect(s.predecessors).toEqual([0n]);
      // idle: neighbours merge until minSegments is reached
      await eventually(
        async () => (await controller.getCurrentSegments(S)).length === 1,
        'merge back to one segment',
      );
      const cur = await controller.getCurrentSegments(S);
      expect(epochOf(cur[0]?.segment.segmentId ?? 0n)).toBeGreaterThanOrEqual(2);
      expect([cur[0]?.minKey, cur[0]?.maxKey]).toEqual([0, 1]);
    });

    it('applies time and size retention periodically by truncating at recorded cuts', async () => {
      await open({ retention: { intervalMs: 30 } });
      const timed = { scope: 'sc', stream: 'timed' };
      const sized = { scope: 'sc', stream: 'sized' };
      await controller.createStream(timed, {
        ...fixed(1),
        retentionPolicy: { type: 'time', minMillis: 100n },
      });
      await controller.createStream(sized, {
        ...fixed(1),
        retentionPolicy: { type: 'size', minBytes: 200n },
      });
      const timedSeg = segmentName('sc', 'timed', 0n);
      const sizedSeg = segmentName('sc', 'sized', 0n);
      const payload = Array.from({ length: 20 }, (_, i) => `event-number-${i}`);
      await append(store, timedSeg, payload);
      // in pieces, so that retention records cuts in between
      for (const e of payload) {
        await append(store, sizedSeg, [e]);
        await new Promise((r) => setTimeout(r, 40));
      }
      const total = BigInt(frameAll(payload).length);
      await eventually(
        async () => (await store.getInfo(timedSeg)).startOffset > 0n,
        'time retention',
      );
      expect((await controller.getHeadSegments(timed)).get(0n)).toBe(total);
      await eventually(
        async () => (await store.getInfo(sizedSeg)).startOffset > 0n,
        'size retention',
      );
      const info = await store.getInfo(sizedSeg);
      // at least minBytes are kept
      expect(info.length - info.startOffset).toBeGreaterThanOrEqual(200n);
      expect((await controller.getHeadSegments(sized)).get(0n)).toBe(info.startOffset);
    });
  });
});
