import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { BACKENDS } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { expectExactlyOnceInOrder, keysOf, type Seq } from '../../support/sequences.js';

const seq = jsonSerializer<Seq>();

function readAll(client: PravegaClient, stream: string): Promise<Seq[]> {
  return readCommitted(client, stream, seq);
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'transactions on %s',
  (_name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('txn');

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    it('keeps uncommitted events invisible and shows committed ones together, in key order', async () => {
      const stream = `${scope}/visible`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 3 } });
      const writer = client.createTransactionalWriter(stream, seq, { leaseMs: 30_000 });
      const txn = await writer.beginTxn();
      const keys = keysOf(8);
      for (let i = 0; i < 500; i++) for (const key of keys) void txn.write({ key, seq: i }, key);
      await txn.flush();
      expect(txn.phase).toBe('open');
      // flushed but not committed: a reader sees nothing
      expect(await readAll(client, stream)).toEqual([]);
      await txn.commit();
      expect(txn.phase).toBe('committed');
      expect(await txn.checkStatus()).toBe('committed');
      const events = await readAll(client, stream);
      expectExactlyOnceInOrder(events, keys, 500);
      await writer.close();
    });

    it('requests a commit without waiting for the merge, in order: later requests merge after earlier ones', async () => {
      const stream = `${scope}/requested`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = client.createTransactionalWriter(stream, seq, { leaseMs: 30_000 });
      const keys = keysOf(4);
      const first = await writer.beginTxn();
      const second = await writer.beginTxn();
      for (let i = 0; i < 100; i++) for (const key of keys) void first.write({ key, seq: i }, key);
      for (let i = 100; i < 200; i++)
        for (const key of keys) void second.write({ key, seq: i }, key);
      // accepted: the server completes it on its own from here
      await first.requestCommit();
      expect(first.phase).toBe('committing');
      expect(['committing', 'committed']).toContain(await first.checkStatus());
      await first.requestCommit(); // twice is fine
      await expect(first.abort()).rejects.toMatchObject({ code: 'TXN_STATE' });
      await second.requestCommit();
      // waitCommitted on the later one; the earlier one was merged before it
      await second.waitCommitted();
      await first.waitCommitted();
      expect(first.phase).toBe('committed');
      expect(second.phase).toBe('committed');
      expectExactlyOnceInOrder(await readAll(client, stream), keys, 200);
      await writer.close();
    });

    it('discards an aborted transaction and refuses writes after commit or abort', async () => {
      const stream = `${scope}/abort`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = client.createTransactionalWriter(stream, seq, { leaseMs: 30_000 });
      const aborted = await writer.beginTxn();
      await Promise.all([
        aborted.write({ key: 'a', seq: 0 }, 'a'),
        aborted.write({ key: 'b', seq: 0 }, 'b'),
      ]);
      await aborted.abort();
      expect(aborted.phase).toBe('aborted');
      await aborted.abort(); // twice is fine
      expect(() => aborted.write({ key: 'a', seq: 1 }, 'a')).toThrow(
        expect.objectContaining({ code: 'TXN_STATE' }) as Error,
      );
      await expect(aborted.commit()).rejects.toMatchObject({ code: 'TXN_STATE' });

      const committed = await writer.beginTxn();
      await committed.write({ key: 'c', seq: 0 }, 'c');
      await committed.commit();
      expect(() => committed.write({ key: 'c', seq: 1 }, 'c')).toThrow(
        expect.objectContaining({ code: 'TXN_STATE' }) as Error,
      );
      expect(await readAll(client, stream)).toEqual([{ key: 'c', seq: 0 }]);
      await writer.close();
    });

    it('commits a transaction by id from a second client, and a second commit is fine', async () => {
      const stream = `${scope}/resume`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
      const writer = client.createTransactionalWriter(stream, seq, { leaseMs: 60_000 });
      const txn = await writer.beginTxn();
      const keys = keysOf(4);
      for (let i = 0; i < 100; i++) for (const key of keys) void txn.write({ key, seq: i }, key);
      await txn.flush(); // pre-commit, as a sink does at a checkpoint
      await writer.close(); // "crash": the first writer goes away without committing

      // a second, independent client (the embedded store has one owner per process: the crash
      // tests cover a new process there)
      const other = backend.name === 'real' ? await PravegaClient.connect(backend.uri()) : client;
      const recovering = other.createTransactionalWriter(stream, seq, { leaseMs: 60_000 });
      const resumed = recovering.resumeTxn(txn.txnId);
      expect(resumed.resumed).toBe(true);
      expect(() => resumed.write({ key: 'x', seq: 0 }, 'x')).toThrow(
        expect.objectContaining({ code: 'TXN_STATE' }) as Error,
      );
      await resumed.commit();
      await recovering.resumeTxn(txn.txnId).commit(); // already committed: success
      expect(await readAll(client, stream).then((e) => e.length)).toBe(400);
      expectExactlyOnceInOrder(await readAll(client, stream), keys, 100);
      if (other !== client) await other.close();
    });

    it('refuses a lease outside the server bounds with TXN_LEASE_INVALID', () => {
      expect(() => client.createTransactionalWriter(`${scope}/x`, seq, { leaseMs: 5_000 })).toThrow(
        expect.objectContaining({
          code: 'TXN_LEASE_INVALID',
          message: expect.stringMatching(/leaseMs/) as string,
        }) as Error,
      );
      expect(() =>
        client.createTransactionalWriter(`${scope}/x`, seq, { leaseMs: 700_000 }),
      ).toThrow(expect.objectContaining({ code: 'TXN_LEASE_INVALID' }) as Error);
    });

    it('lets an unpinged transaction expire; committing it then reports lost data', async () => {
      const stream = `${scope}/expire`;
      await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 1 } });
      const writer = client.createTransactionalWriter(stream, seq, { leaseMs: 10_000 });
      const txn = await writer.beginTxn();
      await txn.write({ key: 'k', seq: 0 }, 'k');
      await txn.flush();
      await writer.close(); // stops pinging
      const deadline = Date.now() + 90_000;
      let state = await txn.checkStatus();
      while (state !== 'aborted' && Date.now() < deadline) {
        await sleep(1_000);
        state = await txn.checkStatus();
      }
      expect(state).toBe('aborted');
      const err = await client
        .createTransactionalWriter(stream, seq)
        .resumeTxn(txn.txnId)
        .commit()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toMatchObject({
        code: 'TXN_LOST',
        message: expect.stringMatching(/DATA MAY BE LOST/) as string,
      });
      expect(await readAll(client, stream)).toEqual([]);
    }, 120_000);
  },
);
