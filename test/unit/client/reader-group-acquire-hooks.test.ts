import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireClient, type SharedClient } from '../../../src/pravega/client/client-registry.js';
import {
  ReaderGroup,
  type EventStreamReader,
  type SegmentAt,
} from '../../../src/pravega/client/reader-group/index.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { TributaryError } from '../../../src/errors.js';
import { parseSegmentName } from '../../../src/pravega/protocol/index.js';

/**
 * The reader's acquisition and release hooks (`onAcquired`, `onReleased`) on the embedded store:
 * what a cluster worker needs to load a key-group range's state before the first event of the
 * segment carrying it (docs/scale-out.md §6 item 2).
 */

interface Ev {
  readonly key: string;
  readonly seq: number;
}
const serializer = jsonSerializer<Ev>();

let dir: string;
let shared: SharedClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-acquire-hooks-'));
  shared = await acquireClient(`embedded:${dir}`);
});

afterAll(async () => {
  await shared.release();
  await rm(dir, { recursive: true, force: true });
});

let streams = 0;
async function freshStream(segments: number, perKey: number): Promise<ReaderGroup> {
  const client = shared.client;
  const scope = `hooks${++streams}`;
  await client.createScope(scope);
  await client.createStream(`${scope}/s`, {
    scalingPolicy: { type: 'fixed', minSegments: segments },
  });
  const writer = await client.createWriter(`${scope}/s`, serializer);
  for (let seq = 0; seq < perKey; seq++) {
    for (let k = 0; k < 16; k++) void writer.write({ key: `k${k}`, seq }, `k${k}`);
  }
  await writer.flush();
  await writer.close();
  return ReaderGroup.create(client, scope, 'g', { streams: [`${scope}/s`] });
}

interface Got {
  readonly reader: string;
  readonly segment: string;
  readonly offset: number;
  readonly id: string;
}

/** One read of `reader`, its events appended to `into`; @returns the marker if one came. */
async function readOnce(
  reader: EventStreamReader<Ev>,
  into: Got[],
  maxEvents: number,
): Promise<string | undefined> {
  const r = await reader.readBatch({ maxEvents, timeoutMs: 100 });
  if (r.kind === 'checkpoint') return r.name;
  if (r.kind !== 'events') return undefined;
  for (const e of r.events) {
    into.push({
      reader: reader.readerId,
      segment: e.segment,
      offset: e.offset,
      id: `${e.value.key}#${e.value.seq}`,
    });
  }
  return undefined;
}

describe('reader acquisition and release hooks', () => {
  it('segments moved at a gated marker: released with their marker, acquired once at those offsets, before any of their events', async () => {
    const group = await freshStream(4, 150);
    const total = 16 * 150;
    const got: Got[] = [];
    const acquired: { reader: string; at: SegmentAt[]; eventsBefore: number }[] = [];
    const ready = new Set<string>(); // reader:segment whose hook resolved
    const released: { at: SegmentAt[]; marker: string }[] = [];
    const completed = new Set<string>();
    const hookOf = (id: string) => async (at: readonly SegmentAt[]) => {
      const segs = new Set(at.map((a) => a.segment));
      acquired.push({
        reader: id,
        at: [...at],
        eventsBefore: got.filter((g) => g.reader === id && segs.has(g.segment)).length,
      });
      await sleep(300); // a slow load of state
      for (const a of at) ready.add(`${id}:${a.segment}`);
    };

    const r1 = await group.createReader('r1', serializer);
    r1.gateReleases((marker) => completed.has(marker));
    r1.onAcquired(hookOf('r1'));
    r1.onReleased((at, marker) => released.push({ at: [...at], marker }));
    const started = Date.now() + 30_000;
    while (got.length < 40 && Date.now() < started) await readOnce(r1, got, 5);
    expect(r1.ownedSegments).toHaveLength(4);

    const r2 = await group.createReader('r2', serializer);
    r2.onAcquired(hookOf('r2'));
    const checkpoint = group.initiateCheckpoint('chk-1', { timeoutMs: 30_000 });
    const markers = new Set<string>();
    const readers = [r1, r2];
    // both pass the marker (r1 holds its surplus there), slowly
    await Promise.all(
      readers.map(async (r) => {
        while (!markers.has(`${r.readerId}:chk-1`)) {
          const m = await readOnce(r, got, 2);
          if (m !== undefined) markers.add(`${r.readerId}:${m}`);
          await sleep(5);
        }
      }),
    );
    await readOnce(r1, got, 5); // records its part
    await readOnce(r2, got, 5);
    await checkpoint;
    const beforeGate = got.length;
    // the marker's checkpoint is not complete for the caller yet: nothing moves
    for (let i = 0; i < 20; i++) {
      await Promise.all(readers.map((r) => readOnce(r, got, 2)));
      await sleep(5);
    }
    expect(released).toEqual([]);
    expect(r2.ownedSegments).toEqual([]);
    expect(got.length).toBeGreaterThan(beforeGate); // r1 reads on from the two it keeps
    completed.add('chk-1');
    await Promise.all(
      readers.map(async (r) => {
        const deadline = Date.now() + 60_000;
        while (got.length < total && Date.now() < deadline) {
          await readOnce(r, got, 50);
          for (const g of got) {
            if (g.reader === r.readerId && !ready.has(`${g.reader}:${g.segment}`)) {
              throw new Error(`${g.reader} handed out ${g.id} of ${g.segment} before its hook`);
            }
          }
        }
      }),
    );
    // every event once
    expect(new Set(got.map((g) => g.id)).size).toBe(total);
    expect(got).toHaveLength(total);
    // r1 gave two back at chk-1, r2 took exactly those, at the offsets r1 gave them back at
    expect(released).toHaveLength(1);
    expect(released[0]!.marker).toBe('chk-1');
    expect(released[0]!.at).toHaveLength(2);
    const r2Acquired = acquired.filter((a) => a.reader === 'r2');
    expect(
      r2Acquired.flatMap((a) => a.at).sort((a, b) => a.segment.localeCompare(b.segment)),
    ).toEqual([...released[0]!.at].sort((a, b) => a.segment.localeCompare(b.segment)));
    expect(r2Acquired.every((a) => a.eventsBefore === 0)).toBe(true);
    // r1's first acquisition: all four at offset 0, once
    const r1Acquired = acquired.filter((a) => a.reader === 'r1').flatMap((a) => a.at);
    expect(r1Acquired).toHaveLength(4);
    expect(r1Acquired.every((a) => a.offset === 0n)).toBe(true);
    // r2's first event of each segment is at the offset it acquired it at: nothing skipped
    for (const a of released[0]!.at) {
      const first = got.find((g) => g.reader === 'r2' && g.segment === a.segment);
      expect(first?.offset).toBe(Number(a.offset));
      // r1 handed out nothing of it after the marker's offset
      const after = got.filter(
        (g) => g.reader === 'r1' && g.segment === a.segment && g.offset >= Number(a.offset),
      );
      expect(after).toEqual([]);
    }
    await r1.close();
    await r2.close();
  });

  it('onHeld: segments frozen at a gated marker are told with it as it is returned; kept when the share changes before the gate opens', async () => {
    const group = await freshStream(4, 100);
    const got: Got[] = [];
    const changes: string[] = [];
    const r1 = await group.createReader('r1', serializer);
    r1.gateReleases(() => false); // the marker's checkpoint never completes for the caller
    r1.onHeld((change) =>
      changes.push(
        'held' in change
          ? `held ${change.held.length} at ${change.marker} after ${got.length}`
          : `kept ${change.kept.length}`,
      ),
    );
    const deadline = Date.now() + 30_000;
    while (r1.ownedSegments.length < 4 && Date.now() < deadline) await readOnce(r1, got, 5);
    const r2 = await group.createReader('r2', serializer);
    const checkpoint = group.initiateCheckpoint('chk-1', { timeoutMs: 30_000 });
    let marker: string | undefined;
    let before = 0;
    while (marker === undefined && Date.now() < deadline) {
      before = got.length;
      marker = await readOnce(r1, got, 2);
    }
    // told while the marker was returned: after the events before it, before any after it
    expect(marker).toBe('chk-1');
    expect(changes).toEqual([`held 2 at chk-1 after ${before}`]);
    while (Date.now() < deadline) {
      const m = await readOnce(r2, got, 2);
      if (m !== undefined) break;
    }
    await readOnce(r1, got, 2);
    await readOnce(r2, got, 2);
    await checkpoint;
    // r2 leaves before the gate opened: r1's share is all four again, the held two are kept
    await r2.close();
    while (changes.length < 2 && Date.now() < deadline) await readOnce(r1, got, 5);
    expect(changes).toEqual([`held 2 at chk-1 after ${before}`, 'kept 2']);
    while (got.length < 16 * 100 && Date.now() < deadline) await readOnce(r1, got, 50);
    expect(new Set(got.map((g) => g.id)).size).toBe(16 * 100);
    await r1.close();
  });

  it("a gate answering 'void' (the marker's checkpoint never counts): held segments are kept and read on, held again at the next marker, and given back at that one", async () => {
    const group = await freshStream(4, 100);
    const got: Got[] = [];
    const changes: string[] = [];
    const released: string[] = [];
    const outcome = new Map<string, boolean | 'void'>();
    const r1 = await group.createReader('r1', serializer);
    r1.gateReleases((marker) => outcome.get(marker) ?? false);
    r1.onHeld((change) =>
      changes.push(
        'held' in change
          ? `held ${change.held.length} at ${change.marker}`
          : `kept ${change.kept.length}`,
      ),
    );
    r1.onReleased((at, marker) => released.push(`${at.length} at ${marker}`));
    const deadline = Date.now() + 30_000;
    while (r1.ownedSegments.length < 4 && Date.now() < deadline) await readOnce(r1, got, 5);
    const r2 = await group.createReader('r2', serializer);
    const passMarker = async (name: string) => {
      const checkpoint = group.initiateCheckpoint(name, { timeoutMs: 30_000 });
      const passed = new Set<string>();
      while (passed.size < 2 && Date.now() < deadline) {
        for (const r of [r1, r2])
          if (!passed.has(r.readerId) && (await readOnce(r, got, 2)) === name)
            passed.add(r.readerId);
      }
      await readOnce(r1, got, 2);
      await readOnce(r2, got, 2);
      await checkpoint;
    };
    await passMarker('chk-1');
    expect(changes).toEqual(['held 2 at chk-1']);
    // chk-1 was aborted: nothing is given back at its positions; r1 reads them on
    outcome.set('chk-1', 'void');
    while (changes.length < 2 && Date.now() < deadline) await readOnce(r1, got, 5);
    expect(changes).toEqual(['held 2 at chk-1', 'kept 2']);
    expect(released).toEqual([]);
    expect(r1.ownedSegments).toHaveLength(4);
    // held again at the next marker, and given back at it once it counts
    await passMarker('chk-2');
    expect(changes).toEqual(['held 2 at chk-1', 'kept 2', 'held 2 at chk-2']);
    outcome.set('chk-2', true);
    while (released.length === 0 && Date.now() < deadline) await readOnce(r1, got, 5);
    expect(released).toEqual(['2 at chk-2']);
    while (got.length < 16 * 100 && Date.now() < deadline)
      await Promise.all([readOnce(r1, got, 50), readOnce(r2, got, 50)]);
    expect(new Set(got.map((g) => g.id)).size).toBe(16 * 100);
    expect(got).toHaveLength(16 * 100);
    await r1.close();
    await r2.close();
  });

  it("a slow hook holds back only the acquired segments (a dead reader's, taken offline): the owned ones go on", async () => {
    const group = await freshStream(4, 150);
    const got: Got[] = [];
    const r1 = await group.createReader('r1', serializer);
    const r2 = await group.createReader('r2', serializer);
    while (r1.ownedSegments.length + r2.ownedSegments.length < 4 || got.length < 20) {
      await Promise.all([readOnce(r1, got, 1), readOnce(r2, got, 1)]);
      await sleep(5);
    }
    expect(r1.ownedSegments).toHaveLength(2);
    const kept = new Set(r1.ownedSegments);
    const position = r2.getPosition();
    await r2.close({ leaveGroup: false }); // as if its process died
    let release: () => void = () => undefined;
    const calls: SegmentAt[][] = [];
    r1.onAcquired(async (at) => {
      calls.push([...at]);
      await new Promise<void>((resolve) => (release = resolve));
    });
    expect(await group.readerOffline('r2', position)).toBe(true);
    const taken = Date.now() + 30_000;
    while (calls.length === 0 && Date.now() < taken) {
      await readOnce(r1, got, 1);
      await sleep(5);
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((a) => [a.segment, a.offset]).sort()).toEqual(
      [...position].map(([s, o]) => [s, o]).sort(),
    );
    const moved = new Set(calls[0]!.map((a) => a.segment));
    const whileHeld = got.length;
    // a checkpoint started meanwhile: its marker waits for the hook
    const checkpoint = group.initiateCheckpoint('chk-during-hook', { timeoutMs: 30_000 });
    const markers: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = await readOnce(r1, got, 2);
      if (m !== undefined) markers.push(m);
      await sleep(5);
    }
    expect(markers).toEqual([]);
    const duringHook = got.slice(whileHeld);
    expect(duringHook.length).toBeGreaterThan(0); // the two it owned go on
    expect(duringHook.every((g) => kept.has(g.segment))).toBe(true);
    release();
    const markerBy = Date.now() + 30_000;
    while (markers.length === 0 && Date.now() < markerBy) {
      const m = await readOnce(r1, got, 1);
      if (m !== undefined) markers.push(m);
    }
    expect(markers).toEqual(['chk-during-hook']);
    await readOnce(r1, got, 1); // records its part
    const cut = await checkpoint;
    // the moved segments are in the checkpoint where they were acquired
    for (const [s, o] of position) {
      const p = parseSegmentName(s);
      expect(cut.positions.get(`${p.scope}/${p.stream}`)?.get(p.segmentId)).toBe(o);
    }
    const deadline = Date.now() + 30_000;
    while (!got.slice(whileHeld).some((g) => moved.has(g.segment)) && Date.now() < deadline) {
      await readOnce(r1, got, 50);
    }
    const firstMoved = got.slice(whileHeld).filter((g) => moved.has(g.segment));
    expect(firstMoved.length).toBeGreaterThan(0);
    for (const s of moved) {
      const first = got.slice(whileHeld).find((g) => g.segment === s);
      if (first !== undefined) expect(BigInt(first.offset)).toBe(position.get(s));
    }
    expect(calls).toHaveLength(1); // once per acquisition
    await r1.close();
  });

  it('a rejected hook fails the next read with its error', async () => {
    const group = await freshStream(2, 10);
    const r1 = await group.createReader('r1', serializer);
    r1.onAcquired(() =>
      Promise.reject(new TributaryError('STATE_CORRUPT', 'state of key groups 0..7 is torn')),
    );
    const got: Got[] = [];
    const deadline = Date.now() + 30_000;
    let failure: unknown;
    while (failure === undefined && Date.now() < deadline) {
      await readOnce(r1, got, 10).catch((err: unknown) => (failure = err));
    }
    expect(got).toEqual([]);
    expect(TributaryError.is(failure) && failure.code).toBe('STATE_CORRUPT');
    await r1.close();
  });
});
