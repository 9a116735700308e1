import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointData } from '../../../src/checkpoint/checkpoint-data.js';
import type { EncodedState } from '../../../src/checkpoint/state-codec.js';
import { decideCheckpoint } from '../../../src/cluster/checkpoint-decision.js';
import { DirectoryStateStore, StreamStateStore } from '../../../src/cluster/cluster-state-store.js';
import { segmentOfKeyGroup } from '../../../src/cluster/exchange/routing.js';
import {
  carryForward,
  completedRecordOf,
  keyGroupRangesOfSegments,
  ownershipConflict,
  subtractRanges,
} from '../../../src/cluster/key-group-ownership.js';
import { loadKeyGroupStates } from '../../../src/cluster/key-group-state.js';
import {
  parseCompleted,
  type AckRecord,
  type CompletedRecord,
  type MemberRecord,
} from '../../../src/cluster/records.js';
import {
  WorkerStateFolder,
  loadKeyGroups,
  type StateHandle,
  type StreamStateHandle,
} from '../../../src/cluster/state-handles.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { rejection } from '../helpers/rejection.js';

/**
 * Key-group ownership across workers in the `completed` record (docs/scale-out.md §6 item 2):
 * several workers' handles, each naming the ranges it owns; key groups owned by nobody carried
 * forward from the previous record; one owner per key group.
 */

const K = 16;
const all = { start: 0, end: K };

/** A worker's local checkpoint `id` holding state for `groups` (whether it owns them or not). */
function workerCheckpoint(id: number, worker: string, groups: readonly number[]): CheckpointData {
  return {
    checkpointId: id,
    jobName: 'keyed',
    triggeredAt: 1_000 + id,
    completedAt: 2_000 + id,
    operators: {
      count: {
        parallelism: 1,
        subtasks: [
          {
            items: [`list of ${worker}@${id}`],
            keyGroups: groups.map((g) => [g, { state: { worker, id, g } }] as const),
          },
        ],
      },
    },
    enumerators: {},
  };
}

function piece(id: number, workerId: string, state: readonly StateHandle[]): AckRecord {
  return { checkpointId: id, workerId, epoch: 1, piece: { readerGroups: {}, sinks: [], state } };
}

/** key group → `worker@checkpoint` of the state loaded for it */
function origins(data: CheckpointData): Record<number, string> {
  const out: Record<number, string> = {};
  for (const s of data.operators['count']?.subtasks ?? []) {
    for (const [g, st] of s.keyGroups) {
      const v = (st as { state: { worker: string; id: number } }).state;
      expect(out[g]).toBeUndefined(); // one state per key group
      out[g] = `${v.worker}@${v.id}`;
    }
  }
  return out;
}

function expected(spec: readonly [number, number, string][]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [a, b, who] of spec) for (let g = a; g < b; g++) out[g] = who;
  return out;
}

/** A fake handle: only its key groups matter to the pure rules. */
function handle(id: number, keyGroups: [number, number][], offset = 0): StreamStateHandle {
  return {
    segment: 'sc/_tributary-state-j/0.#epoch.0',
    offset,
    length: 10,
    bytes: 10,
    sha256: 'a'.repeat(64),
    checkpointId: id,
    keyGroups,
  };
}

describe('key-group ownership rules', () => {
  it('the key groups of edge segments are the ones the exchange routes to them', () => {
    for (const [S, k] of [
      [1, 16],
      [3, 16],
      [4, 16],
      [5, 128],
      [16, 16],
      [7, 10],
    ] as const) {
      for (let i = 0; i < S; i++) {
        const ranges = keyGroupRangesOfSegments([i], S, k);
        const fromRanges = ranges.flatMap(([a, b]) =>
          Array.from({ length: b - a }, (_, j) => a + j),
        );
        const routed = Array.from({ length: k }, (_, g) => g).filter(
          (g) => segmentOfKeyGroup(g, S, k) === i,
        );
        expect(fromRanges).toEqual(routed);
      }
    }
    expect(keyGroupRangesOfSegments([2, 0, 1], 4, 16)).toEqual([[0, 12]]);
    expect(subtractRanges([[0, 16]], [[4, 8]])).toEqual([
      [0, 4],
      [8, 16],
    ]);
  });

  it('key groups nobody names at a checkpoint keep the previous handle, narrowed, until someone names them', () => {
    const rec1 = completedRecordOf(
      { id: 1, term: 1 },
      [piece(1, 'w1', [handle(1, [[0, 8]])]), piece(1, 'w2', [handle(1, [[8, 16]], 100)])],
      undefined,
    );
    expect(rec1.carried).toBeUndefined();
    // w2 died: nobody owns 8..15 at 2
    const rec2 = completedRecordOf(
      { id: 2, term: 1 },
      [piece(2, 'w1', [handle(2, [[0, 8]])])],
      rec1,
    );
    expect(rec2.carried).toEqual([{ workerId: 'w2', handle: handle(1, [[8, 16]], 100) }]);
    // still nobody at 3: carried on from the carried one
    const rec3 = completedRecordOf(
      { id: 3, term: 1 },
      [piece(3, 'w1', [handle(3, [[0, 8]])])],
      rec2,
    );
    expect(rec3.carried).toEqual(rec2.carried);
    // w3 took over segment 2 (8..11) at 4: 12..15 stay carried
    const rec4 = completedRecordOf(
      { id: 4, term: 1 },
      [piece(4, 'w1', [handle(4, [[0, 8]])]), piece(4, 'w3', [handle(4, [[8, 12]])])],
      rec3,
    );
    expect(rec4.carried).toEqual([{ workerId: 'w2', handle: handle(1, [[12, 16]], 100) }]);
    // it survives the table (JSON) as it was written
    expect(parseCompleted('completed', JSON.parse(JSON.stringify(rec4)))).toEqual(rec4);
    // everything named again: nothing carried
    const rec5 = completedRecordOf(
      { id: 5, term: 1 },
      [piece(5, 'w1', [handle(5, [[0, 8]])]), piece(5, 'w3', [handle(5, [[8, 16]])])],
      rec4,
    );
    expect(rec5.carried).toBeUndefined();
    // a stateless job carries nothing
    expect(carryForward({ id: 1, term: 1, pieces: [piece(1, 'w1', [])] }, [])).toEqual([]);
  });

  it('key groups no checkpoint has named yet are recorded as never named, until one does', () => {
    // the edge's segments 0 and 1 found readers before checkpoint 1; 2 and 3 not yet
    const rec1 = completedRecordOf(
      { id: 1, term: 1 },
      [piece(1, 'w1', [handle(1, [[0, 8]])])],
      undefined,
      K,
    );
    expect(rec1.neverNamed).toEqual([[8, 16]]);
    const rec2 = completedRecordOf(
      { id: 2, term: 1 },
      [piece(2, 'w1', [handle(2, [[0, 8]])]), piece(2, 'w2', [handle(2, [[12, 16]])])],
      rec1,
      K,
    );
    expect(rec2.neverNamed).toEqual([[8, 12]]);
    // w2 dies: 12..15 are carried, not "never named"
    const rec3 = completedRecordOf(
      { id: 3, term: 1 },
      [piece(3, 'w1', [handle(3, [[0, 12]])])],
      rec2,
      K,
    );
    expect(rec3.neverNamed).toBeUndefined();
    expect(rec3.carried?.map((c) => c.handle.keyGroups)).toEqual([[[12, 16]]]);
    // through the table's JSON
    expect(parseCompleted('completed', JSON.parse(JSON.stringify(rec1)))).toEqual(rec1);
    expect(() =>
      parseCompleted('completed', { ...JSON.parse(JSON.stringify(rec1)), neverNamed: [[3, 3]] }),
    ).toThrow(/neverNamed holds something that is not a key-group range/);
    // a job that does not own state per key group records none
    expect(
      completedRecordOf({ id: 1, term: 1 }, [piece(1, 'w1', [handle(1, [[0, 8]])])], undefined)
        .neverNamed,
    ).toBeUndefined();
  });

  it('the leader never completes a checkpoint where two workers name one key group', () => {
    const pieces = [piece(3, 'w1', [handle(3, [[0, 9]])]), piece(3, 'w2', [handle(3, [[8, 16]])])];
    expect(ownershipConflict(pieces)).toMatch(/workers w1 and w2 both name key group 8/);
    const member = (workerId: string): MemberRecord => ({
      workerId,
      epoch: 1,
      host: 'h',
      pid: 1,
      joinedAt: 0,
      beat: 1,
      state: 'alive',
    });
    const decision = decideCheckpoint({
      checkpoint: {
        id: 3,
        term: 1,
        state: 'pending',
        members: [
          { workerId: 'w1', epoch: 1 },
          { workerId: 'w2', epoch: 1 },
        ],
      },
      term: 1,
      acks: pieces,
      members: new Map([
        ['w1', member('w1')],
        ['w2', member('w2')],
      ]),
      pendingMs: 0,
      timeoutMs: 1_000,
    });
    expect(decision).toMatchObject({ kind: 'abort' });
    expect(decision.kind === 'abort' && decision.reason).toMatch(/key group 8/);
  });
});

describe('loading key groups from several workers in the state stream', () => {
  let dir: string;
  let client: PravegaClient;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-ownership-'));
    client = await PravegaClient.connect(`embedded:${dir}`);
  });
  afterEach(async () => {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('each key group from the handle that owns it; carried handles load and survive retention', async () => {
    const store = new StreamStateStore(client, 'cluster', 'keyed');
    await store.open();
    const seq = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    // w1 still holds stale state of 8 and 9 (released earlier): its handle does not name them
    const w1a = await store.write(workerCheckpoint(1, 'w1', seq(0, 10)), [[0, 8]]);
    const w2a = await store.write(workerCheckpoint(1, 'w2', seq(8, 16)), [[8, 16]]);
    const rec1 = completedRecordOf(
      { id: 1, term: 1 },
      [piece(1, 'w1', [w1a]), piece(1, 'w2', [w2a])],
      undefined,
    );
    expect(origins(await store.load(rec1, all))).toEqual(
      expected([
        [0, 8, 'w1@1'],
        [8, 16, 'w2@1'],
      ]),
    );
    // w2 died after 1; 2 completes with w1 alone: 8..15 as of 1, carried
    const w1b = await store.write(workerCheckpoint(2, 'w1', seq(0, 8)), [[0, 8]]);
    const rec2 = completedRecordOf({ id: 2, term: 1 }, [piece(2, 'w1', [w1b])], rec1);
    await store.retain(rec2);
    const loaded = await store.load(rec2, all);
    expect(origins(loaded)).toEqual(
      expected([
        [0, 8, 'w1@2'],
        [8, 16, 'w2@1'],
      ]),
    );
    expect(loaded.checkpointId).toBe(2);
    // list state (not owned per key group) only from the pieces of 2, never carried
    const withLists = await store.load(rec2, all, () => true);
    expect(withLists.operators['count']?.subtasks.flatMap((x) => x.items)).toEqual([
      'list of w1@2',
    ]);
    // without the carried handle, 8 has no owner
    const bare: CompletedRecord = { id: 2, term: 1, pieces: rec2.pieces };
    const none = await rejection(store.load(bare, all));
    expect(none.code).toBe('STATE_CORRUPT');
    expect(none.message).toMatch(/names no keyed state for key group 8/);
    // and retention of the bare record would have dropped w2's bytes: the carried record kept them
    await store.retain(bare);
    const gone = await rejection(store.load(rec2, all));
    expect(gone.code).toBe('STATE_CORRUPT');
    expect(gone.message).toMatch(/worker w2 .*carried forward from checkpoint 1/);
  });

  it('key groups never named load as empty; unnamed ones that were named before stay an error', async () => {
    const store = new StreamStateStore(client, 'cluster', 'keyed');
    await store.open();
    const w1 = await store.write(workerCheckpoint(1, 'w1', [1, 2]), [[0, 8]]);
    const rec1 = completedRecordOf({ id: 1, term: 1 }, [piece(1, 'w1', [w1])], undefined, K);
    // every key group asked for is one nobody held yet: empty, no bytes read
    const empty = await store.load(rec1, { start: 8, end: 16 });
    expect(empty.operators).toEqual({});
    expect(empty.checkpointId).toBe(1);
    // a range across both: only the named part has state
    expect(origins(await store.load(rec1, all))).toEqual(expected([[1, 3, 'w1@1']]));
    // without the record saying so, the same gap is a loss
    const bare: CompletedRecord = { id: 1, term: 1, pieces: rec1.pieces };
    const lost = await rejection(store.load(bare, { start: 8, end: 16 }));
    expect(lost.code).toBe('STATE_CORRUPT');
    expect(lost.message).toMatch(/names no keyed state for key group 8/);
  });

  it('two handles claiming one key group, a carried handle replaced, or none: STATE_CORRUPT naming it', async () => {
    const store = new StreamStateStore(client, 'cluster', 'keyed');
    await store.open();
    const w1 = (await store.write(workerCheckpoint(1, 'w1', [0, 1, 8]), [
      [0, 9],
    ])) as StreamStateHandle;
    const w2 = (await store.write(workerCheckpoint(1, 'w2', [8, 9]), [
      [8, 16],
    ])) as StreamStateHandle;
    const twice = await rejection(
      store.load({ id: 1, term: 1, pieces: [piece(1, 'w1', [w1]), piece(1, 'w2', [w2])] }, all),
    );
    expect(twice.code).toBe('STATE_CORRUPT');
    expect(twice.message).toMatch(/names key group 8 twice: worker w1's .* and worker w2's/);
    // a carried handle must be of an earlier checkpoint, and its bytes the ones it names
    const own = await store.write(workerCheckpoint(2, 'w1', [0]), [[0, 8]]);
    const replaced = await rejection(
      store.load(
        {
          id: 2,
          term: 1,
          pieces: [piece(2, 'w1', [own])],
          carried: [{ workerId: 'w2', handle: { ...w2, sha256: 'b'.repeat(64) } }],
        },
        all,
      ),
    );
    expect(replaced.code).toBe('STATE_CORRUPT');
    expect(replaced.message).toMatch(/worker w2 .*carried forward from checkpoint 1/);
  });

  it('loadKeyGroupStates: key groups R as of the latest completed record, per operator, with a deadline', async () => {
    const store = new StreamStateStore(client, 'cluster', 'keyed');
    await store.open();
    const w1 = await store.write(workerCheckpoint(1, 'w1', [5, 6, 7]), [[0, 8]]);
    const w2 = await store.write(workerCheckpoint(1, 'w2', [8, 9, 15]), [[8, 16]]);
    const rec = completedRecordOf(
      { id: 1, term: 1 },
      [piece(1, 'w1', [w1]), piece(1, 'w2', [w2])],
      undefined,
    );
    const states = await loadKeyGroupStates(
      { latestCompleted: () => Promise.resolve(rec) },
      store,
      { start: 6, end: 10 },
      5_000,
    );
    expect(states?.checkpointId).toBe(1);
    const entries = states?.operators.get('count') ?? [];
    expect(
      entries.map(([g, s]: readonly [number, EncodedState]) => [
        g,
        (s as { state: { worker: string } }).state.worker,
      ]),
    ).toEqual([
      [6, 'w1'],
      [7, 'w1'],
      [8, 'w2'],
      [9, 'w2'],
    ]);
    expect(
      await loadKeyGroupStates(
        { latestCompleted: () => Promise.resolve(undefined) },
        store,
        all,
        1_000,
      ),
    ).toBeUndefined();
    const stuck = await rejection(
      loadKeyGroupStates({ latestCompleted: () => new Promise(() => undefined) }, store, all, 100),
    );
    expect(stuck.code).toBe('TIMEOUT');
    expect(stuck.message).toMatch(/loading key groups 0..15/);
  });
});

describe('loading key groups from several workers in a shared directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tributary-ownership-dir-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("full state from two workers' folders loads; the carried folder survives the leader's retention", async () => {
    const w1 = new DirectoryStateStore(root, 'w1');
    const w2 = new DirectoryStateStore(root, 'w2');
    await w1.open();
    await w2.open();
    const h1 = await w1.write(workerCheckpoint(1, 'w1', [0, 7, 8]), [[0, 8]]);
    const h2 = await w2.write(workerCheckpoint(1, 'w2', [8, 15]), [[8, 16]]);
    const rec1 = completedRecordOf(
      { id: 1, term: 1 },
      [piece(1, 'w1', [h1]), piece(1, 'w2', [h2])],
      undefined,
    );
    expect(origins(await loadKeyGroups(root, rec1, all))).toEqual({
      0: 'w1@1',
      7: 'w1@1',
      8: 'w2@1',
      15: 'w2@1',
    });
    const h1b = await w1.write(workerCheckpoint(2, 'w1', [0]), [[0, 8]]);
    const rec2 = completedRecordOf({ id: 2, term: 1 }, [piece(2, 'w1', [h1b])], rec1);
    await w1.retain(rec2, true); // the leader: its own old files, and others' folders not named
    expect(await readdir(join(root, 'workers'))).toEqual(['w1', 'w2']);
    expect((await readdir(join(root, 'workers', 'w1'))).filter((f) => f.endsWith('.ckpt'))).toEqual(
      ['chk-000000000002.ckpt'],
    );
    expect(origins(await w1.load(rec2, all))).toEqual({ 0: 'w1@2', 8: 'w2@1', 15: 'w2@1' });
  });

  it("incremental state pieces from two workers' folders are refused, naming both", async () => {
    const chained = async (worker: string, g: number): Promise<CheckpointData> => {
      const folder = join(root, 'workers', worker, 'state');
      await mkdir(folder, { recursive: true });
      const text = `state of ${g}`;
      const name = `000000000001-0-count-${worker}.piece`;
      await writeFile(join(folder, name), text);
      const ref = {
        f: name,
        o: 0,
        n: Buffer.byteLength(text),
        h: createHash('sha256').update(text).digest('hex'),
        k: 'full',
      };
      return {
        ...workerCheckpoint(1, worker, []),
        operators: {
          count: { parallelism: 1, subtasks: [{ items: [], keyGroups: [[g, { chain: [ref] }]] }] },
        },
      };
    };
    const f1 = new WorkerStateFolder(root, 'w1');
    const f2 = new WorkerStateFolder(root, 'w2');
    const h1 = await f1.write(await chained('w1', 1), [[0, 8]]);
    const h2 = await f2.write(await chained('w2', 9), [[8, 16]]);
    const rec = completedRecordOf(
      { id: 1, term: 1 },
      [piece(1, 'w1', [h1]), piece(1, 'w2', [h2])],
      undefined,
    );
    const err = await rejection(loadKeyGroups(root, rec, all));
    expect(err.code).toBe('ILLEGAL_STATE');
    expect(err.message).toMatch(/incremental state pieces in 2 workers' folders/);
    // one worker's range alone is fine
    const one = await loadKeyGroups(root, rec, { start: 0, end: 8 });
    expect(one.location).toBe(f1.dir);
  });
});
