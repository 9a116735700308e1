import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { waitUntil } from '../../../src/cluster/index.js';
import { BACKENDS, type Backend } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { MemberPool, ReplyLosingTable, WAIT_MS } from './cluster-support.js';

describe.each(BACKENDS.map((make) => [make().name, make] as const))(
  'cluster membership and leadership (%s)',
  (_name, makeBackend) => {
    let backend: Backend;
    let scope: string;
    const pools: MemberPool[] = [];
    const pool = (job: string): MemberPool => {
      const p = new MemberPool(backend, scope, job);
      pools.push(p);
      return p;
    };

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

    it('members join with epoch 1, elect exactly one leader, and a leaving leader hands over', async () => {
      const p = pool('join-leave');
      const [a, b, c] = [await p.join(), await p.join(), await p.join()];
      const leader = await p.leader();
      const members = await a.member.members();
      expect(members.map((m) => m.workerId).sort()).toEqual(
        [a, b, c].map((m) => m.member.workerId).sort(),
      );
      expect(members.every((m) => m.state === 'alive' && m.epoch === 1)).toBe(true);
      await waitUntil(
        () => [a, b, c].every((m) => m.member.currentLeader?.workerId === leader.member.workerId),
        WAIT_MS,
        'every member reads the same leader',
      );
      const term = leader.member.term!;

      await leader.member.leave();
      const rest = [a, b, c].filter((m) => m !== leader);
      const next = await p.leader(rest);
      expect(next.member.term).toBeGreaterThan(term);
      const after = await next.member.members();
      expect(after.find((m) => m.workerId === leader.member.workerId)?.state).toBe('left');
      expect(() => leader.member.ack(1, {})).toThrow(TributaryError);
    });

    it('a member that stops beating is declared dead; re-joining with its id gives the next epoch', async () => {
      const p = pool('declare-dead');
      const [a, b] = [await p.join(), await p.join()];
      const leader = await p.leader();
      const victim = leader === a ? b : a;
      victim.member.halt();
      await waitUntil(
        () =>
          leader.events.some(
            (e) => e.type === 'member-dead' && e.workerId === victim.member.workerId,
          ),
        WAIT_MS,
        'the leader declares the halted member dead',
      );
      const record = (await leader.member.members()).find(
        (m) => m.workerId === victim.member.workerId,
      );
      expect(record?.state).toBe('dead');
      expect(record?.deadBy).toBe(leader.member.workerId);

      const again = await p.join({ workerId: victim.member.workerId });
      expect(again.member.epoch).toBe(2);
      const fresh = (await leader.member.members()).find(
        (m) => m.workerId === victim.member.workerId,
      );
      expect(fresh).toMatchObject({ state: 'alive', epoch: 2 });
    });

    it('when the leader dies another member takes over and declares it dead', async () => {
      const p = pool('failover');
      const all = [await p.join(), await p.join(), await p.join()];
      const first = await p.leader();
      const term = first.member.term!;
      first.member.halt();
      const rest = all.filter((m) => m !== first);
      const next = await p.leader(rest);
      expect(next.member.term).toBe(term + 1);
      await waitUntil(
        () =>
          next.events.some((e) => e.type === 'member-dead' && e.workerId === first.member.workerId),
        WAIT_MS,
        'the new leader declares the old one dead',
      );
    });

    it("a zombie leader's writes are rejected and it is fenced", async () => {
      const p = pool('zombie');
      // the zombie: driven by hand, so it can be "paused" (a GC pause, a partition) at will
      const zombie = await p.join({ manual: true });
      await waitUntil(
        async () => {
          await zombie.member.tick();
          return zombie.member.isLeader;
        },
        WAIT_MS,
        'the manual member becomes leader',
      );
      const others = [await p.join(), await p.join()];
      // the zombie stops ticking: the others elect a new leader and declare it dead
      const next = await p.leader(others);
      await waitUntil(
        () =>
          next.events.some(
            (e) => e.type === 'member-dead' && e.workerId === zombie.member.workerId,
          ),
        WAIT_MS,
        'the new leader declares the zombie dead',
      );
      // it still believes it leads; its write (with its stale versions) is refused
      expect(zombie.member.isLeader).toBe(true);
      const refused = await zombie.member.triggerCheckpoint().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(TributaryError.is(refused, 'CHECKPOINT_FAILED')).toBe(true);
      expect(zombie.member.isLeader).toBe(false);
      await zombie.member.tick();
      expect(zombie.member.fenced?.code).toBe('CONDITIONAL_CHECK_FAILED');
      expect(() => zombie.member.ack(1, {})).toThrow(/fenced/);
      // the table still says what the new leader wrote
      const record = (await next.member.members()).find(
        (m) => m.workerId === zombie.member.workerId,
      );
      expect(record?.state).toBe('dead');
      expect(next.member.currentLeader?.workerId).toBe(next.member.workerId);
    });

    it('a beat whose reply was lost is recognised as its own write, not taken for fencing', async () => {
      const p = pool('lost-reply');
      let losing: ReplyLosingTable | undefined;
      const m = await p.join({ manual: true }, (t) => (losing = new ReplyLosingTable(t)));
      await m.member.tick(); // becomes leader (its record and the leader key written)
      losing!.loseReplies = 1;
      // beats until one is sent (the heartbeat interval passes): its reply is lost
      await waitUntil(
        async () => {
          await m.member.tick();
          return losing!.loseReplies === 0;
        },
        WAIT_MS,
        'a write whose reply is lost',
      );
      expect(m.events.some((e) => e.type === 'error')).toBe(true);
      await m.member.tick();
      expect(m.member.fenced).toBeUndefined();
      const [record] = await m.member.members();
      expect(record).toMatchObject({ workerId: m.member.workerId, state: 'alive', epoch: 1 });
      await m.member.leave();
    });
  },
);
