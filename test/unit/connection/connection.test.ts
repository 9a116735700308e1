import { describe, expect, it } from 'vitest';
import { Connection } from '../../../src/pravega/connection/connection.js';
import type { Command } from '../../../src/pravega/protocol/index.js';
import { FakeTransport } from '../helpers/fake-transport.js';

const hello = (t: FakeTransport, low = 5, high = 16) =>
  t.reply({ type: 'hello', highVersion: high, lowVersion: low });

describe('Connection', () => {
  it('sends Hello(16, 5) first and opens once the server answers', async () => {
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t));
    });
    const connection = await Connection.open(transport, { label: 'fake' });
    expect(transport.sent[0]).toEqual({ type: 'hello', highVersion: 16, lowVersion: 5 });
    connection.close();
    expect(transport.closed).toBe(true);
  });

  it('refuses a server whose versions do not overlap', async () => {
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t, 17, 20));
    });
    await expect(Connection.open(transport, { label: 'fake' })).rejects.toMatchObject({
      code: 'INCOMPATIBLE_SERVER',
    });
  });

  it('routes replies to the request that asked, by request id, even when they come out of order and in pieces', async () => {
    const pending: Command[] = [];
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t));
      else pending.push(cmd);
    });
    const connection = await Connection.open(transport, { label: 'fake' });
    const a = connection.request((requestId) => ({
      type: 'sealSegment',
      requestId,
      segment: 's/a/0.#epoch.0',
      delegationToken: '',
    }));
    const b = connection.request((requestId) => ({
      type: 'sealSegment',
      requestId,
      segment: 's/b/0.#epoch.0',
      delegationToken: '',
    }));
    const [ra, rb] = pending as [
      Extract<Command, { type: 'sealSegment' }>,
      Extract<Command, { type: 'sealSegment' }>,
    ];
    expect(ra.requestId).not.toBe(rb.requestId);
    transport.reply({ type: 'segmentSealed', requestId: rb.requestId, segment: rb.segment }, 3);
    transport.reply({ type: 'segmentSealed', requestId: ra.requestId, segment: ra.segment }, 2);
    expect(await a).toMatchObject({ segment: 's/a/0.#epoch.0' });
    expect(await b).toMatchObject({ segment: 's/b/0.#epoch.0' });
    connection.close();
  });

  it('fails every open request with a retryable CONNECTION_CLOSED when the connection drops', async () => {
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t));
    });
    const connection = await Connection.open(transport, { label: 'fake' });
    const request = connection.request((requestId) => ({
      type: 'sealSegment',
      requestId,
      segment: 's/a/0.#epoch.0',
      delegationToken: '',
    }));
    transport.close(new Error('reset by peer'));
    await expect(request).rejects.toMatchObject({ code: 'CONNECTION_CLOSED', retryable: true });
    expect(connection.closed).toBe(true);
  });

  /**
   * A read at `offset` on a server that rejects its token with `errorCode`, answering as a 0.13
   * server's verifyToken does: the read's offset stands in for the request id.
   */
  async function readWithRejectedToken(offset: bigint, errorCode: number) {
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t));
      if (cmd.type === 'readSegment') {
        queueMicrotask(() =>
          t.reply({
            type: 'authTokenCheckFailed',
            requestId: cmd.offset,
            serverStackTrace: '',
            errorCode,
          }),
        );
      }
    });
    const connection = await Connection.open(transport, { label: 'fake' });
    const read = connection.request((requestId) => ({
      type: 'readSegment',
      segment: 's/a/0.#epoch.0',
      offset,
      suggestedLength: 1024,
      delegationToken: 'token',
      requestId,
    }));
    return { connection, read };
  }

  it('fails every request with a retryable TOKEN_EXPIRED on an expired-token reply it cannot route (a read answered with its offset as request id)', async () => {
    const { connection, read } = await readWithRejectedToken(0n, 1);
    await expect(read).rejects.toMatchObject({ code: 'TOKEN_EXPIRED', retryable: true });
    expect(connection.closed).toBe(true);
  });

  it('a token refused for good is an AUTH_FAILED that is not retried', async () => {
    const { read } = await readWithRejectedToken(42n, 0);
    await expect(read).rejects.toMatchObject({ code: 'AUTH_FAILED', retryable: false });
  });

  it('sends keep-alives when idle and declares a silent server dead', async () => {
    let keepAlives = 0;
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t));
      if (cmd.type === 'keepAlive') keepAlives++; // never echoed: the server is gone
    });
    const connection = await Connection.open(transport, {
      label: 'fake',
      keepAliveIntervalMs: 100,
      deadAfterMs: 400,
    });
    const closed = new Promise((resolve) => connection.onClose(resolve));
    expect(await closed).toMatchObject({
      code: 'CONNECTION_CLOSED',
      message: expect.stringMatching(/stopped answering/) as string,
    });
    expect(keepAlives).toBeGreaterThan(0);
  });

  it('closes the connection on undecodable bytes from the server', async () => {
    const transport = new FakeTransport((cmd, t) => {
      if (cmd.type === 'hello') queueMicrotask(() => hello(t));
    });
    const connection = await Connection.open(transport, { label: 'fake' });
    const closed = new Promise((resolve) => connection.onClose(resolve));
    (transport as unknown as { dataListener: (b: Buffer) => void }).dataListener(
      Buffer.from('0000270f00000000', 'hex'),
    );
    expect(await closed).toMatchObject({ code: 'PROTOCOL_ERROR' });
  });
});
