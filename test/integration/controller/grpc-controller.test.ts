import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { GrpcController } from '../../../src/pravega/controller/grpc-controller.js';
import { randomScope } from '../../support/endpoints.js';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<TributaryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(TributaryError.is(err), `expected a TributaryError ${code}, got ${String(err)}`).toBe(
    true,
  );
  expect((err as TributaryError).code).toBe(code);
  return err as TributaryError;
}

describe('gRPC controller against a real Pravega server', () => {
  let controller: GrpcController;
  const scope = randomScope('ctrl');

  beforeAll(() => {
    controller = new GrpcController({ uri: inject('pravega').controllerUri });
  });
  afterAll(async () => {
    await controller.close();
  });

  it('creates a scope and a 3-segment stream, lists, reads segments, seals and deletes it', async () => {
    expect(await controller.createScope(scope)).toBe(true);
    expect(await controller.createScope(scope)).toBe(false);
    expect(await controller.scopeExists(scope)).toBe(true);
    expect(await collect(controller.listScopes())).toContain(scope);

    const stream = { scope, stream: 'orders' };
    expect(
      await controller.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 3 } }),
    ).toBe(true);
    expect(await controller.streamExists(stream)).toBe(true);
    expect(await collect(controller.listStreams(scope))).toEqual([stream]);
    expect(await controller.getStreamConfig(stream)).toEqual({
      scalingPolicy: { type: 'fixed', minSegments: 3 },
    });

    const segments = await controller.getCurrentSegments(stream);
    expect(segments.map((s) => s.segment.segmentId)).toEqual([0n, 1n, 2n]);
    expect(segments[0]?.minKey).toBe(0);
    expect(segments[2]?.maxKey).toBe(1);
    for (let i = 0; i < 2; i++)
      expect(segments[i]?.maxKey).toBeCloseTo(segments[i + 1]?.minKey ?? -1);

    const head = await controller.getHeadSegments(stream);
    expect([...head.entries()].sort((a, b) => Number(a[0] - b[0]))).toEqual([
      [0n, 0n],
      [1n, 0n],
      [2n, 0n],
    ]);

    const endpoint = await controller.getEndpoint(segments[0]!.segment);
    expect(endpoint.port).toBeGreaterThan(0);

    await expectCode(controller.deleteStream(stream), 'STREAM_NOT_SEALED');
    await controller.sealStream(stream);
    await controller.sealStream(stream); // sealing twice is fine
    await expectCode(
      controller.updateStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 3 } }),
      'STREAM_SEALED',
    );
    expect(await controller.deleteStream(stream)).toBe(true);
    expect(await controller.streamExists(stream)).toBe(false);
    expect(await controller.deleteStream(stream)).toBe(false);
    expect(await controller.deleteScope(scope)).toBe(true);
  });

  it('reports an existing stream, a missing scope and a missing stream the way a Pravega user expects', async () => {
    const s = randomScope('ctrl');
    await controller.createScope(s);
    const stream = { scope: s, stream: 'dup' };
    expect(
      await controller.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 1 } }),
    ).toBe(true);
    // Pravega's createStream answers "already exists" with false, not an error
    expect(
      await controller.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 1 } }),
    ).toBe(false);

    const missingScope = randomScope('missing');
    const err = await expectCode(
      controller.createStream(
        { scope: missingScope, stream: 'x' },
        { scalingPolicy: { type: 'fixed', minSegments: 1 } },
      ),
      'SCOPE_NOT_FOUND',
    );
    expect(err.message).toContain(missingScope);
    await expectCode(collect(controller.listStreams(missingScope)), 'SCOPE_NOT_FOUND');
    await expectCode(
      controller.getCurrentSegments({ scope: s, stream: 'nope' }),
      'STREAM_NOT_FOUND',
    );
    await expectCode(controller.sealStream({ scope: s, stream: 'nope' }), 'STREAM_NOT_FOUND');
    await expectCode(controller.deleteScope(s), 'SCOPE_NOT_EMPTY');
    await expectCode(
      controller.createStream(
        { scope: s, stream: 'bad name!' },
        { scalingPolicy: { type: 'fixed', minSegments: 1 } },
      ),
      'INVALID_NAME',
    );
  });

  it('updates a stream to an event-rate scaling policy with time retention and reads it back', async () => {
    const s = randomScope('ctrl');
    await controller.createScope(s);
    const stream = { scope: s, stream: 'scaling' };
    await controller.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
    const config = {
      scalingPolicy: { type: 'byEventRate', targetRate: 100, scaleFactor: 2, minSegments: 2 },
      retentionPolicy: { type: 'time', minMillis: 3_600_000n },
    } as const;
    await controller.updateStream(stream, config);
    expect(await controller.getStreamConfig(stream)).toEqual(config);
  });

  it('lists many streams across pages', async () => {
    const s = randomScope('ctrl');
    await controller.createScope(s);
    const names = Array.from({ length: 12 }, (_, i) => `s${i}`);
    await Promise.all(
      names.map((n) =>
        controller.createStream(
          { scope: s, stream: n },
          { scalingPolicy: { type: 'fixed', minSegments: 1 } },
        ),
      ),
    );
    const listed = (await collect(controller.listStreams(s))).map((x) => x.stream).sort();
    expect(listed).toEqual([...names].sort());
  });
});

describe('gRPC controller with auth and TLS', () => {
  it('refuses a wrong password with AUTH_FAILED and works with the right one', async () => {
    const endpoint = inject('pravegaAuth');
    const wrong = new GrpcController({
      uri: endpoint.controllerUri,
      credentials: { username: endpoint.credentials!.username, password: 'wrong' },
      retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10 },
    });
    const err = await expectCode(wrong.createScope(randomScope('auth')), 'AUTH_FAILED');
    expect(err.message).toMatch(/password/);
    await wrong.close();
    const none = new GrpcController({ uri: endpoint.controllerUri });
    await expectCode(none.createScope(randomScope('auth')), 'AUTH_FAILED');
    await none.close();

    const right = new GrpcController({
      uri: endpoint.controllerUri,
      credentials: endpoint.credentials!,
    });
    const s = randomScope('auth');
    expect(await right.createScope(s)).toBe(true);
    expect(
      (await right.getDelegationToken({ scope: s, stream: 'x' }, 'readWrite')).length,
    ).toBeGreaterThan(0);
    await right.close();
  });

  it('talks TLS when it trusts the test CA, and refuses a server it cannot verify', async () => {
    const endpoint = inject('pravegaTls');
    expect(endpoint.controllerUri.startsWith('tls://')).toBe(true);
    const trusted = new GrpcController({
      uri: endpoint.controllerUri,
      trustedCa: readFileSync(endpoint.caCertFile!),
    });
    const s = randomScope('tls');
    expect(await trusted.createScope(s)).toBe(true);
    await trusted.close();

    const untrusted = new GrpcController({
      uri: endpoint.controllerUri,
      callTimeoutMs: 3000,
      retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10 },
    });
    await expect(untrusted.createScope(randomScope('tls'))).rejects.toBeInstanceOf(TributaryError);
    await untrusted.close();
  });
});
