import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireClient } from '../../../src/pravega/client/client-registry.js';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { SharedTransactions } from '../../../src/sink/pravega/shared-transactions.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';

const seq = jsonSerializer<Seq>();

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'shared sink transactions on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('sharedtxn');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    async function group(stream: string, subtasks: number[]) {
      await client.createStream(`${scope}/${stream}`, {
        scalingPolicy: { type: 'fixed', minSegments: 2 },
      });
      const open = async () => {
        const shared = await acquireClient(backend.uri());
        const writer = shared.client.createTransactionalWriter(`${scope}/${stream}`, seq, {
          leaseMs: 30_000,
        });
        return { shared, writer };
      };
      const key = `test|${scope}|${stream}`;
      const groups = await Promise.all(subtasks.map((s) => SharedTransactions.join(key, s, open)));
      // one group per key, whoever joined first
      expect(new Set(groups).size).toBe(1);
      return groups[0]!;
    }

    it('gives the subtasks of one interval one transaction, committed once every one asked for it', async () => {
      const g = await group('commit', [0, 1]);
      const a = await g.transactionFor(-1, 0);
      const b = await g.transactionFor(-1, 1);
      expect(b.txnId).toBe(a.txnId);
      const keys = keysOf(4);
      // each subtask writes its own keys, in order
      for (let i = 0; i < 100; i++) {
        void a.writeBatch(
          keys.slice(0, 2).map((key) => ({ key, seq: i })),
          (s) => s.key,
        );
        void b.writeBatch(
          keys.slice(2).map((key) => ({ key, seq: i })),
          (s) => s.key,
        );
      }
      // the next interval (checkpoint 7 opened it) is a different transaction
      const next = await g.transactionFor(7, 0);
      expect(next.txnId).not.toBe(a.txnId);
      await a.flush();
      const first = g.commit(a.txnId, 0);
      // one subtask asked: nothing is sent while the other may still write
      await new Promise((r) => setTimeout(r, 300));
      expect(await a.checkStatus()).toBe('open');
      const second = g.commit(a.txnId, 1);
      await second.requested;
      await first.merged;
      await second.merged;
      expect(await a.checkStatus()).toBe('committed');
      expectExactlyOnceInOrder(await readCommitted(client, `${scope}/commit`, seq), keys, 100);
      // closing: the unwritten next transaction is aborted once both left
      g.abandon(next.txnId, 0);
      await g.leave(0, (m) => expect.fail(m));
      expect(await next.checkStatus()).toBe('open');
      await g.leave(1, (m) => expect.fail(m));
      expect(await next.checkStatus()).toMatch(/^abort/);
    });

    it('commits nothing when a subtask closes before asking for the commit (the restored job decides)', async () => {
      const g = await group('left', [0, 1]);
      const a = await g.transactionFor(3, 0);
      await g.transactionFor(3, 1);
      void a.write({ key: 'k', seq: 0 }, 'k');
      await a.flush();
      const first = g.commit(a.txnId, 0);
      // subtask 1 fails and closes: its state still lists the transaction as pending
      await g.leave(1, () => undefined);
      await expect(first.merged).rejects.toMatchObject({ code: 'TXN_STATE' });
      expect(g.commitFailure).toBeUndefined();
      // neither committed nor aborted: a restore commits it from subtask 1's state
      expect(await a.checkStatus()).toBe('open');
      await g.leave(0, () => undefined);
      expect(await a.checkStatus()).toBe('open');
      await client
        .createTransactionalWriter(`${scope}/left`, seq, { leaseMs: 30_000 })
        .resumeTxn(a.txnId)
        .commit();
      expect(await readCommitted(client, `${scope}/left`, seq)).toEqual([{ key: 'k', seq: 0 }]);
    });
  },
);
