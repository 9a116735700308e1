import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { PravegaClient } from '../../../src/pravega/client/index.js';
import { ConnectionPool } from '../../../src/pravega/connection/connection-pool.js';
import type { Controller } from '../../../src/pravega/controller/controller.js';
import { GrpcController } from '../../../src/pravega/controller/grpc-controller.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/pravega/controller/grpc/retry.js';
import { LONG_MIN, newUuid, type Command } from '../../../src/pravega/protocol/index.js';
import { WireSegmentStore } from '../../../src/pravega/segment/wire-segment-store.js';
import {
  garbageServer,
  hugeFrameHttp2Server,
  keepAliveOnlySegmentStore,
  silentServer,
  type FakeServer,
} from '../../support/fake-servers.js';

/**
 * Every wait of the client on a server has a deadline: fake servers on loopback that accept and
 * never answer, answer only keep-alives, or send garbage make each call fail within its configured
 * (short, here) deadline with a typed, retryable error — never hang.
 */

const servers: FakeServer[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => undefined);
  for (const s of servers.splice(0)) await s.close();
});

async function track(server: Promise<FakeServer>): Promise<FakeServer> {
  const s = await server;
  servers.push(s);
  return s;
}

/** The error `p` rejects with, and how long that took. */
async function timedFailure(p: Promise<unknown>): Promise<{ error: TributaryError; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (error) {
    if (!TributaryError.is(error)) throw error;
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected a failure');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function heapMb(): number {
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

describe('controller deadlines', () => {
  it('the default deadline of a controller call, across retries, is at most 30 s', () => {
    expect(DEFAULT_RETRY_POLICY.overallTimeoutMs).toBeLessThanOrEqual(30_000);
  });

  it('connect() to a controller that accepts TCP and never answers fails within its connect timeout, naming the URI', async () => {
    const server = await track(silentServer());
    const { error, ms } = await timedFailure(
      PravegaClient.connect({ controllerUri: server.uri, connectTimeoutMs: 1_000 }),
    );
    expect(error.code).toBe('CONTROLLER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(server.uri);
    expect(ms).toBeLessThan(5_000);
  });

  it('connect() to a port where nothing listens fails within a few seconds with the default timeout', async () => {
    const uri = `tcp://127.0.0.1:${await freePort()}`;
    const { error, ms } = await timedFailure(PravegaClient.connect(uri));
    expect(error.code).toBe('CONTROLLER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(uri);
    expect(ms).toBeLessThan(8_000);
  });

  for (const [name, start] of [
    ['accepts TCP and never answers', silentServer],
    ['answers HTTP/2 with a huge frame', hugeFrameHttp2Server],
    ['sends garbage', () => garbageServer()],
  ] as const) {
    it(`a call to a controller that ${name} fails within one overall deadline, not once per retry`, async () => {
      const server = await track(start());
      const controller = new GrpcController({ uri: server.uri, callTimeoutMs: 1_500 });
      closers.push(() => controller.close());
      const heapBefore = heapMb();
      const { error, ms } = await timedFailure(controller.createScope('scope'));
      expect(['TIMEOUT', 'CONTROLLER_UNAVAILABLE']).toContain(error.code);
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('createScope');
      // one deadline of 1.5 s for all attempts (the default policy has 10), plus slack for a loaded machine
      expect(ms).toBeLessThan(6_000);
      expect(heapMb() - heapBefore).toBeLessThan(64);
    });
  }
});

/** A controller that routes every segment to `port` and hands out empty tokens (auth off). */
function routingTo(port: number): Controller {
  const partial: Pick<Controller, 'getEndpoint' | 'getDelegationToken'> = {
    getEndpoint: () => Promise.resolve({ host: '127.0.0.1', port }),
    getDelegationToken: () => Promise.resolve(''),
  };
  return partial as Controller;
}

function storeAt(port: number, requestTimeoutMs: number): WireSegmentStore {
  const pool = new ConnectionPool({
    fallbackHost: '127.0.0.1',
    connectTimeoutMs: 2_000,
    // keep-alives go out (and are answered) much more often than the request timeout
    connection: { keepAliveIntervalMs: 100, handshakeTimeoutMs: 2_000 },
  });
  const store = new WireSegmentStore(routingTo(port), pool, {
    requestTimeoutMs,
    initialBackoffMs: 10,
    maxBackoffMs: 50,
  });
  closers.push(() => store.close());
  return store;
}

const SEGMENT = 'sc/st/0.#epoch.0';

describe('segment store deadlines', () => {
  it('a server that handshakes and then only answers keep-alives fails each request with a retryable TIMEOUT in time', async () => {
    const server = await track(keepAliveOnlySegmentStore());
    const store = storeAt(server.port, 800);
    const calls: [string, () => Promise<unknown>][] = [
      ['segment info', () => store.getInfo(SEGMENT)],
      ['read', () => store.read(SEGMENT, 0n, 1024)],
      ['table get', () => store.tableGet(SEGMENT, [Buffer.from('k')])],
      [
        'table update',
        () => store.tableUpdate(SEGMENT, [{ key: Buffer.from('k'), value: Buffer.from('v') }]),
      ],
      ['create segment', () => store.createSegment(SEGMENT)],
      [
        'append setup',
        () =>
          store.openAppendSession(SEGMENT, newUuid(), {
            onAck: () => undefined,
            onFailure: () => undefined,
          }),
      ],
      ['conditional append', () => store.conditionalAppend(SEGMENT, 0n, Buffer.alloc(12))],
    ];
    for (const [name, call] of calls) {
      const { error, ms } = await timedFailure(call());
      expect({ name, code: error.code, retryable: error.retryable }).toEqual({
        name,
        code: 'TIMEOUT',
        retryable: true,
      });
      // the read is probed at half the timeout, so it too ends within about one timeout
      expect(ms, name).toBeLessThan(800 * 2 + 2_000);
    }
    // the connections stayed alive by keep-alives all along: that did not keep requests waiting
    expect(server.bytesSent).toBeGreaterThan(0);
  });

  it('an append session whose appends are never acknowledged fails with a retryable TIMEOUT', async () => {
    const server = await track(
      keepAliveOnlySegmentStore((cmd, reply) => {
        if (cmd.type === 'setupAppend') {
          reply({
            type: 'appendSetup',
            requestId: cmd.requestId,
            segment: cmd.segment,
            writerId: cmd.writerId,
            lastEventNumber: LONG_MIN,
          });
        }
      }),
    );
    const store = storeAt(server.port, 600);
    let failed: ((e: Error) => void) | undefined;
    const failure = new Promise<Error>((resolve) => (failed = resolve));
    const session = await store.openAppendSession(SEGMENT, newUuid(), {
      onAck: () => undefined,
      onFailure: (e) => failed?.(e),
    });
    const started = Date.now();
    session.append(Buffer.alloc(12), 1, 1n);
    const error = await failure;
    expect(TributaryError.is(error, 'TIMEOUT')).toBe(true);
    expect((error as TributaryError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(600 * 2 + 2_000);
  });

  it('a read waiting at the tail is kept while the server answers probes, and gets its data when it comes', async () => {
    let heldRead: Extract<Command, { type: 'readSegment' }> | undefined;
    let probes = 0;
    const server = await track(
      keepAliveOnlySegmentStore((cmd, reply) => {
        if (cmd.type === 'readSegment') heldRead = cmd;
        if (cmd.type === 'getStreamSegmentInfo') {
          probes++;
          reply({
            type: 'streamSegmentInfo',
            requestId: cmd.requestId,
            segment: cmd.segment,
            exists: true,
            isSealed: false,
            isDeleted: false,
            lastModified: 0n,
            writeOffset: 0n,
            startOffset: 0n,
          });
          // after a few probes, data arrives at the tail and the held read is answered
          if (probes === 4 && heldRead !== undefined) {
            reply({
              type: 'segmentRead',
              segment: heldRead.segment,
              offset: heldRead.offset,
              atTail: false,
              endOfSegment: false,
              data: Buffer.from('late data'),
              requestId: heldRead.requestId,
            });
          }
        }
      }),
    );
    const store = storeAt(server.port, 400);
    const started = Date.now();
    const result = await store.read(SEGMENT, 0n, 1024);
    expect(result.data.toString()).toBe('late data');
    // it waited well past the request timeout without failing
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 200);
    expect(probes).toBeGreaterThanOrEqual(4);
  });

  it('a server that sends garbage fails the request with a typed error, and memory stays bounded', async () => {
    const server = await track(garbageServer());
    const store = storeAt(server.port, 2_000);
    const heapBefore = heapMb();
    const { error, ms } = await timedFailure(store.getInfo(SEGMENT));
    expect(error.retryable).toBe(true);
    expect([
      'PROTOCOL_ERROR',
      'CONNECTION_FAILED',
      'CONNECTION_CLOSED',
      'TIMEOUT',
      'FRAME_TOO_LARGE',
    ]).toContain(error.code);
    expect(ms).toBeLessThan(2_000 + 4_000);
    expect(heapMb() - heapBefore).toBeLessThan(64);
  });
});
