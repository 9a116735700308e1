import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { waitUntil } from '../../../src/cluster/index.js';
import { BACKENDS, type Backend } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { MemberPool, WAIT_MS, type TestMember } from './cluster-support.js';

describe.each(BACKENDS.map((make) => [make().name, make] as const))(
  'cluster checkpoints (%s)',
  (_name, makeBackend) => {
    let backend: Backend;
    let scope: string;
    const pools: MemberPool[] = [];

    beforeAll(async () => {
      backend = makeBackend();
      scope = randomScope('cluster');
      const client = await backend.connect();
      await client.createScope(scope);
    });

    afterAll(async () => {
      await Promise.all(pools.map((p) => p.close()));
      await backend.cleanup();
    });

    it('completes when every member acked, with every piece in the global record', async () => {
      const p = new MemberPool(backend, scope, 'complete');
      pools.push(p);
      const piece = (workerId: string) => (id: number) =>
        Promise.resolve({ workerId, id, positions: [`segment-of-${workerId}`] });
      const all: TestMember[] = [];
      for (let i = 0; i < 3; i++) {
        const id = `w${i}`;
        all.push(await p.join({ workerId: id, onCheckpoint: piece(id) }));
      }
      const leader = await p.leader();
      for (let round = 1; round <= 2; round++) {
        const id = await leader.member.triggerCheckpoint();
        const done = await leader.member.awaitCheckpoint(id, WAIT_MS);
        expect(done.id).toBe(id);
        expect(
          done.pieces
            .map((x) => x.piece)
            .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
        ).toEqual(
          ['w0', 'w1', 'w2'].map((w) => ({ workerId: w, id, positions: [`segment-of-${w}`] })),
        );
      }
      await waitUntil(
        () =>
          all.every((m) =>
            m.events.some((e) => e.type === 'checkpoint-completed' && e.record.id === 2),
          ),
        WAIT_MS,
        'every member sees checkpoint 2 completed',
      );
      // one checkpoint at a time
      const id = await leader.member.triggerCheckpoint();
      await expect(leader.member.triggerCheckpoint()).rejects.toMatchObject({
        code: 'CHECKPOINT_LIMIT',
      });
      await leader.member.awaitCheckpoint(id, WAIT_MS);
    });

    it('carries forward the key groups nobody names, and never completes with two owners of one', async () => {
      const p = new MemberPool(backend, scope, 'owners');
      pools.push(p);
      // which key groups each worker names in its state handle (docs/scale-out.md §6 item 2)
      const owns = new Map<string, [number, number][]>([
        ['w0', [[0, 8]]],
        ['w1', [[8, 16]]],
      ]);
      const handle = (workerId: string, id: number) => ({
        segment: `${scope}/_tributary-state-owners/0.#epoch.0`,
        offset: id * 1000 + Number(workerId.slice(1)),
        length: 10,
        bytes: 10,
        sha256: 'a'.repeat(64),
        checkpointId: id,
        keyGroups: owns.get(workerId)!,
      });
      const piece = (workerId: string) => (id: number) =>
        Promise.resolve({ readerGroups: {}, sinks: [], state: [handle(workerId, id)] });
      const w0 = await p.join({ workerId: 'w0', onCheckpoint: piece('w0') });
      const w1 = await p.join({ workerId: 'w1', onCheckpoint: piece('w1') });
      const leader = await p.leader();
      const other = leader === w0 ? w1 : w0;
      const otherId = other.member.workerId;
      const first = await leader.member.triggerCheckpoint();
      const done1 = await leader.member.awaitCheckpoint(first, WAIT_MS);
      expect(done1.carried).toBeUndefined();
      // the other worker leaves: nobody names its key groups at the next checkpoint
      await other.member.leave();
      const second = await leader.member.triggerCheckpoint();
      const done2 = await leader.member.awaitCheckpoint(second, WAIT_MS);
      expect(done2.pieces.map((x) => x.workerId)).toEqual([leader.member.workerId]);
      expect(done2.carried).toEqual([{ workerId: otherId, handle: handle(otherId, first) }]);
      // a new worker claiming key groups the leader names: the checkpoint is aborted
      const overlap: [number, number] = [4, 12]; // inside [0, 8) and [8, 16) alike
      owns.set('w2', [overlap]);
      await p.join({ workerId: 'w2', onCheckpoint: piece('w2') });
      const third = await leader.member.triggerCheckpoint();
      const failure = await leader.member.awaitCheckpoint(third, WAIT_MS).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(TributaryError.is(failure, 'CHECKPOINT_FAILED')).toBe(true);
      expect((failure as Error).message).toMatch(/both name key group \d+/);
      // it takes over part of what the leaver owned: the rest stays carried, narrowed
      const leaverRange = owns.get(otherId)![0]!;
      owns.set('w2', [[leaverRange[0], leaverRange[0] + 4]]);
      const fourth = await leader.member.triggerCheckpoint();
      const done4 = await leader.member.awaitCheckpoint(fourth, WAIT_MS);
      expect(done4.carried).toEqual([
        {
          workerId: otherId,
          handle: { ...handle(otherId, first), keyGroups: [[leaverRange[0] + 4, leaverRange[1]]] },
        },
      ]);
    });

    it('is aborted when a member dies before acking; the next one completes without it', async () => {
      const p = new MemberPool(backend, scope, 'abort');
      pools.push(p);
      let stuck = '';
      const all: TestMember[] = [];
      for (let i = 0; i < 3; i++) {
        const workerId = `w${i}`;
        all.push(
          await p.join({
            workerId,
            checkpointTimeoutMs: 120_000,
            // the stuck worker never produces its piece: it dies mid-checkpoint
            onCheckpoint: (id) =>
              workerId === stuck
                ? new Promise<never>(() => undefined)
                : Promise.resolve({ workerId, id }),
          }),
        );
      }
      const leader = await p.leader();
      const victim = all.find((m) => m !== leader)!;
      stuck = victim.member.workerId;
      const id = await leader.member.triggerCheckpoint();
      // the others ack; then the stuck one dies
      await waitUntil(
        async () => {
          const done = await leader.member.latestCompleted();
          return (
            done?.id === id ||
            all
              .filter((m) => m !== victim)
              .every((m) => m.events.some((e) => e.type === 'checkpoint-proposed' && e.id === id))
          );
        },
        WAIT_MS,
        'the live members see the proposal',
      );
      victim.member.halt();
      const failure = await leader.member.awaitCheckpoint(id, WAIT_MS).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(TributaryError.is(failure, 'CHECKPOINT_FAILED')).toBe(true);
      expect((failure as Error).message).toContain(
        `worker ${victim.member.workerId} was declared dead`,
      );

      const next = await leader.member.triggerCheckpoint();
      const done = await leader.member.awaitCheckpoint(next, WAIT_MS);
      expect(done.pieces.map((x) => x.workerId).sort()).toEqual(
        all
          .filter((m) => m !== victim)
          .map((m) => m.member.workerId)
          .sort(),
      );
    });

    it('tells every member of an abort, even when the next proposal overwrote it before they read it', async () => {
      const p = new MemberPool(backend, scope, 'missed-abort');
      pools.push(p);
      const all: TestMember[] = [];
      for (let i = 0; i < 2; i++) {
        const workerId = `w${i}`;
        all.push(
          await p.join({
            workerId,
            // a follower reads the table every 800 ms: it misses a record that stands for less
            heartbeatMs: 800,
            followerPollMs: 800,
            deadAfterMs: 3_000,
            // nobody produces a piece of checkpoint 1: the leader gives it up
            onCheckpoint: (id) =>
              id === 1 ? new Promise<never>(() => undefined) : Promise.resolve({ workerId, id }),
          }),
        );
      }
      const leader = await p.leader();
      const follower = all.find((m) => m !== leader)!;
      const aborted = (m: TestMember, id: number) =>
        m.events.find((e) => e.type === 'checkpoint-aborted' && e.id === id);
      const first = await leader.member.triggerCheckpoint();
      // the follower saw it pending (so it waits for its outcome); then the leader gives it up
      await waitUntil(
        () => follower.events.some((e) => e.type === 'checkpoint-proposed' && e.id === first),
        WAIT_MS,
        'the follower sees the proposal',
      );
      leader.member.abandonCheckpoint(first, 'given up by the test');
      // the leader is told as it writes the abort, and proposes the next one right away
      await waitUntil(() => aborted(leader, first) !== undefined, WAIT_MS, 'the leader is told');
      const next = await leader.member.triggerCheckpoint();
      await leader.member.awaitCheckpoint(next, WAIT_MS);
      await waitUntil(
        () => aborted(follower, first) !== undefined,
        WAIT_MS,
        'the follower is told of the abort',
      );
      // told before the next proposal, as if it had read the aborted record
      const order = follower.events.flatMap((e) =>
        e.type === 'checkpoint-aborted' && e.id === first
          ? ['aborted']
          : e.type === 'checkpoint-proposed' && e.id === next
            ? ['proposed']
            : [],
      );
      expect(order).toEqual(['aborted', 'proposed']);
    });

    it('waits for a slow member that still beats, and aborts when the checkpoint times out', async () => {
      const p = new MemberPool(backend, scope, 'slow');
      pools.push(p);
      let release: (() => void) | undefined;
      const all: TestMember[] = [];
      for (let i = 0; i < 2; i++) {
        const workerId = `w${i}`;
        all.push(
          await p.join({
            workerId,
            checkpointTimeoutMs: 6_000,
            onCheckpoint: (id) =>
              workerId === 'w1' && id === 1
                ? new Promise((resolve) => (release = () => resolve({ workerId, id })))
                : Promise.resolve({ workerId, id }),
          }),
        );
      }
      const leader = await p.leader();
      const id = await leader.member.triggerCheckpoint();
      const failure = await leader.member.awaitCheckpoint(id, WAIT_MS).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(TributaryError.is(failure, 'CHECKPOINT_FAILED')).toBe(true);
      expect((failure as Error).message).toMatch(/timed out after 6000 ms waiting for w1/);
      // the slow member was never declared dead: it kept beating
      const members = await leader.member.members();
      expect(members.every((m) => m.state === 'alive')).toBe(true);
      release?.();
      const next = await leader.member.triggerCheckpoint();
      const done = await leader.member.awaitCheckpoint(next, WAIT_MS);
      expect(done.pieces.map((x) => x.workerId).sort()).toEqual(['w0', 'w1']);
    });
  },
);
