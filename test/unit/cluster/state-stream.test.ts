import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import { StreamStateStore } from '../../../src/cluster/cluster-state-store.js';
import { stateStreamName } from '../../../src/cluster/exchange/names.js';
import { asStateHandles, type StreamStateHandle } from '../../../src/cluster/state-handles.js';
import type { StateStreamClient } from '../../../src/cluster/state-stream.js';
import { asWorkerPiece, pieceOf } from '../../../src/cluster/worker-piece.js';
import type { TributaryError } from '../../../src/errors.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { completedRecord } from '../helpers/completed-record.js';
import { rejection } from '../helpers/rejection.js';

const K = 8;
const SCOPE = 'cluster';
const JOB = 'keyed';
const SEGMENT = `${SCOPE}/_tributary-state-${JOB}/0.#epoch.0`;

/** A worker's local checkpoint: key groups 1 and 5 with `size` bytes of state each. */
function checkpoint(id: number, size = 40): CheckpointData {
  return {
    checkpointId: id,
    jobName: JOB,
    triggeredAt: 1_000 + id,
    completedAt: 2_000 + id,
    operators: {
      count: {
        parallelism: 2,
        subtasks: [
          { items: ['list-item'], keyGroups: [[1, { state: { a: id, pad: 'x'.repeat(size) } }]] },
          { items: [], keyGroups: [[5, { state: { b: -id, pad: 'y'.repeat(size) } }]] },
        ],
      },
      output: { parallelism: 1, subtasks: [{ items: [{ txn: 'x' }], keyGroups: [] }] },
    },
    enumerators: { input: { positions: 'not restored with keyed state' } },
    lineageStart: 1,
  };
}

/** `client` as the state stream sees it, with its conditional appends done by `append`. */
function withConditionalAppend(
  client: PravegaClient,
  append: StateStreamClient['segmentStore']['conditionalAppend'],
): StateStreamClient {
  const store = client.segmentStore;
  return {
    controller: client.controller,
    segmentStore: {
      getInfo: (s) => store.getInfo(s),
      read: (s, o, n, signal) => store.read(s, o, n, signal),
      truncateSegment: (s, o) => store.truncateSegment(s, o),
      conditionalAppend: append,
    },
  };
}

describe('keyed state of cluster checkpoints in the job state stream', () => {
  let dir: string;
  let client: PravegaClient;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-state-stream-'));
    client = await PravegaClient.connect(`embedded:${dir}`);
  });
  afterEach(async () => {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a checkpoint as chunks of at most the chunk size and reads back its key groups', async () => {
    const store = new StreamStateStore(client, SCOPE, JOB, 100);
    await store.open();
    expect(store.where).toBe(`state stream ${SCOPE}/_tributary-state-${JOB}`);
    expect(store.piecesDir).toBeUndefined();
    const first = (await store.write(checkpoint(1), [[0, K]])) as StreamStateHandle;
    const second = (await store.write(checkpoint(2, 500), [[0, K]])) as StreamStateHandle;
    expect(first).toMatchObject({ segment: SEGMENT, offset: 0, checkpointId: 1 });
    // 8 bytes of event header per chunk of ≤ 100 bytes
    expect(second.offset).toBe(first.length);
    expect(second.length).toBe(second.bytes + 8 * Math.ceil(second.bytes / 100));
    expect(second.bytes).toBeGreaterThan(1_000);
    const info = await client.segmentStore.getInfo(SEGMENT);
    expect(info.length).toBe(BigInt(second.offset + second.length));
    // the handle survives the piece's round trip through the table
    const piece = asWorkerPiece(
      JSON.parse(JSON.stringify(pieceOf(checkpoint(2), new Map(), [second]))),
    );
    expect(piece.state).toEqual([second]);

    const back = await store.load(completedRecord(2, { workerId: 'w1', state: [second] }), {
      start: 0,
      end: K,
    });
    expect(back.checkpointId).toBe(2);
    expect(back.enumerators).toEqual({});
    expect(back.location).toBeUndefined();
    expect(back.operators['count']!.subtasks.map((s) => s?.keyGroups)).toEqual(
      checkpoint(2, 500).operators['count']!.subtasks.map((s) => s?.keyGroups),
    );
    expect(back.operators['count']!.subtasks.every((s) => s?.items.length === 0)).toBe(true);
    expect(back.operators['output']).toBeUndefined();
    // only the key groups asked for
    const part = await store.load(completedRecord(2, { workerId: 'w1', state: [second] }), {
      start: 4,
      end: K,
    });
    expect(part.operators['count']!.subtasks.map((s) => s?.keyGroups.map(([g]) => g))).toEqual([
      [],
      [5],
    ]);
  });

  it("restores the list state of the operators it is asked for (user operators), not the sources' or sinks'", async () => {
    const store = new StreamStateStore(client, SCOPE, JOB);
    const h = await store.write(checkpoint(4), [[0, K]]);
    const record = completedRecord(4, { workerId: 'w1', state: [h] });
    const back = await store.load(record, { start: 0, end: K }, (uid) => uid !== 'output');
    expect(back.operators['count']!.subtasks.map((s) => s?.items)).toEqual([['list-item'], []]);
    expect(back.operators['output']).toBeUndefined();
    // an operator with list state and no keyed state
    const sinkToo = await store.load(record, { start: 0, end: K }, () => true);
    expect(sinkToo.operators['output']!.subtasks.map((s) => s?.items)).toEqual([[{ txn: 'x' }]]);
    expect(sinkToo.operators['output']!.parallelism).toBe(1);
    // without the predicate: keyed state only, as before
    const keyedOnly = await store.load(record, { start: 0, end: K });
    expect(keyedOnly.operators['count']!.subtasks.map((s) => s?.items)).toEqual([[], []]);
  });

  it('refuses missing, truncated or corrupt state with STATE_CORRUPT naming worker, checkpoint and position', async () => {
    const store = new StreamStateStore(client, SCOPE, JOB, 64);
    const h1 = (await store.write(checkpoint(1), [[0, K]])) as StreamStateHandle;
    const h2 = (await store.write(checkpoint(2), [[0, K]])) as StreamStateHandle;
    const load = (h: StreamStateHandle, id = h.checkpointId) =>
      rejection(
        store.load(completedRecord(id, { workerId: 'w9', state: [h] }), { start: 0, end: K }),
      );
    const named = (err: TributaryError, offset: number) => {
      expect(err.code).toBe('STATE_CORRUPT');
      expect(err.message).toContain('worker w9');
      expect(err.message).toContain('completed cluster checkpoint');
      expect(err.message).toContain(`${SEGMENT} at ${offset}`);
    };
    // beyond the end of the segment (never written, or written to another stream)
    const missing = await load({ ...h2, offset: h2.offset + h2.length });
    named(missing, h2.offset + h2.length);
    expect(missing.message).toMatch(/is missing: the segment ends at/);
    // other bytes than the handle names (a checkpoint's bytes named with another's hash)
    const replaced = await load({ ...h2, sha256: h1.sha256 });
    named(replaced, h2.offset);
    expect(replaced.message).toMatch(/is not the state the checkpoint names \(SHA-256/);
    // a length that does not end on an event: torn
    const torn = await load({ ...h2, length: h2.length - 3, bytes: h2.bytes - 3 });
    named(torn, h2.offset);
    expect(torn.message).toMatch(/torn event/);
    // an offset that is not an event's start
    const off = await load({ ...h2, offset: h2.offset + 1, length: h2.length - 1 });
    expect(off.message).toMatch(/no whole event|torn event/);
    // the body is shorter than named
    const short = await load({ ...h2, bytes: h2.bytes + 1 });
    expect(short.message).toMatch(/holds \d+ bytes of state, the checkpoint names/);
    // of another checkpoint than the completed one
    const other = await load(h1, 2);
    expect(other.message).toMatch(/is of checkpoint 1, not 2/);
    // in another job's stream
    const elsewhere = await load({ ...h2, segment: `${SCOPE}/_tributary-state-other/0.#epoch.0` });
    expect(elsewhere.message).toMatch(/is not in this job's state stream/);
    // truncated away
    await client.segmentStore.truncateSegment(SEGMENT, BigInt(h2.offset));
    const truncated = await load(h1);
    named(truncated, h1.offset);
    expect(truncated.message).toMatch(/is truncated: the segment starts at/);
    // the stream gone
    await StreamStateStore.remove(client, SCOPE, JOB);
    const gone = await load(h2);
    named(gone, h2.offset);
    // a key group no handle covers
    const uncovered = await rejection(
      store.load(completedRecord(2, { workerId: 'w9', state: [{ ...h2, keyGroups: [[0, 4]] }] }), {
        start: 0,
        end: K,
      }),
    );
    expect(uncovered.message).toMatch(/names no keyed state for key group 4/);
  });

  it('retention truncates below the state the latest completed checkpoint names, never into it', async () => {
    const store = new StreamStateStore(client, SCOPE, JOB);
    const hs: StreamStateHandle[] = [];
    for (let id = 1; id <= 4; id++)
      hs.push((await store.write(checkpoint(id), [[0, K]])) as StreamStateHandle);
    await store.retain(completedRecord(3, { workerId: 'w1', state: [hs[2]!] }));
    const info = await client.segmentStore.getInfo(SEGMENT);
    expect(info.startOffset).toBe(BigInt(hs[2]!.offset));
    // what it names and what is newer (in flight) are kept
    for (const h of [hs[2]!, hs[3]!]) {
      const back = await store.load(
        completedRecord(h.checkpointId, { workerId: 'w1', state: [h] }),
        {
          start: 0,
          end: K,
        },
      );
      expect(back.checkpointId).toBe(h.checkpointId);
    }
    // an older completed record never moves the start back nor fails
    await store.retain(completedRecord(2, { workerId: 'w1', state: [hs[1]!] }));
    expect((await client.segmentStore.getInfo(SEGMENT)).startOffset).toBe(BigInt(hs[2]!.offset));
    // a record that names no stream state (a stateless or shared-directory piece) truncates nothing
    await store.retain(completedRecord(5, { workerId: 'w1', state: [] }));
    expect((await client.segmentStore.getInfo(SEGMENT)).startOffset).toBe(BigInt(hs[2]!.offset));
  });

  it('a write that loses its place to another writer appends again at the new end', async () => {
    const store = new StreamStateStore(client, SCOPE, JOB);
    await store.open();
    const other = (await new StreamStateStore(client, SCOPE, JOB).write(checkpoint(1), [
      [0, K],
    ])) as StreamStateHandle;
    let raced = false;
    const racing = withConditionalAppend(client, async (s, offset, event) => {
      if (!raced) {
        raced = true;
        // another writer appends between this writer's look at the end and its append
        const info = await client.segmentStore.getInfo(s);
        await client.segmentStore.conditionalAppend(s, info.length, event.subarray(0, 8 + 3));
      }
      return client.segmentStore.conditionalAppend(s, offset, event);
    });
    const h = (await new StreamStateStore(racing, SCOPE, JOB).write(checkpoint(2), [
      [0, K],
    ])) as StreamStateHandle;
    expect(raced).toBe(true);
    expect(h.offset).toBeGreaterThan(other.offset + other.length);
    const back = await store.load(completedRecord(2, { workerId: 'w1', state: [h] }), {
      start: 0,
      end: K,
    });
    expect(back.checkpointId).toBe(2);
  });

  it('an append whose reply was lost but whose bytes landed counts as written', async () => {
    await new StreamStateStore(client, SCOPE, JOB).open();
    const lossy = withConditionalAppend(client, async (s, offset, event) => {
      await client.segmentStore.conditionalAppend(s, offset, event);
      // as a retry after a lost reply sees it: the offset moved on
      return client.segmentStore.conditionalAppend(s, offset, event);
    });
    const store = new StreamStateStore(lossy, SCOPE, JOB, 50);
    const h = (await store.write(checkpoint(3), [[0, K]])) as StreamStateHandle;
    expect((await client.segmentStore.getInfo(SEGMENT)).length).toBe(BigInt(h.length));
    const back = await store.load(completedRecord(3, { workerId: 'w1', state: [h] }), {
      start: 0,
      end: K,
    });
    expect(back.checkpointId).toBe(3);
  });

  it('remove seals and deletes the stream; a second remove finds none', async () => {
    const store = new StreamStateStore(client, SCOPE, JOB);
    await store.write(checkpoint(1), [[0, K]]);
    expect(await StreamStateStore.remove(client, SCOPE, JOB)).toBe(
      `${SCOPE}/_tributary-state-${JOB}`,
    );
    await expect(client.segmentStore.getInfo(SEGMENT)).rejects.toMatchObject({
      code: 'NO_SUCH_SEGMENT',
    });
    expect(await StreamStateStore.remove(client, SCOPE, JOB)).toBeUndefined();
    expect(await StreamStateStore.remove(client, 'no-such-scope', JOB)).toBeUndefined();
  });

  it('stream handles are parsed back; malformed ones are STATE_CORRUPT', () => {
    const good = {
      segment: SEGMENT,
      offset: 10,
      length: 40,
      checkpointId: 1,
      sha256: 'c'.repeat(64),
      bytes: 32,
      keyGroups: [[0, 4]],
    };
    expect(asStateHandles([good])).toEqual([good]);
    for (const bad of [
      { ...good, segment: 'nope' },
      { ...good, offset: -1 },
      { ...good, offset: 1.5 },
      { ...good, length: 8 },
      { ...good, bytes: undefined },
    ]) {
      expect(() => asStateHandles([bad])).toThrow(
        expect.objectContaining({ code: 'STATE_CORRUPT' }) as Error,
      );
    }
  });

  it('names the stream after the job, cleaning and hashing names that are not valid stream names', () => {
    expect(stateStreamName('orders')).toBe('_tributary-state-orders');
    const odd = stateStreamName('my job/é');
    expect(odd).toMatch(/^_tributary-state-my-job-[0-9a-f]{12}$/);
    expect(stateStreamName('my job/è')).not.toBe(odd);
    expect(stateStreamName('x'.repeat(400)).length).toBeLessThanOrEqual(250);
  });
});
