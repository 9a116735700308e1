import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type {
  ScaleResult,
  StreamConfig,
  StreamCutPositions,
  StreamId,
} from '../controller/types.js';
import {
  checkName,
  checkOptions,
  checkPositions,
  checkSerializer,
  checkStream,
  checkStreamConfig,
  checkTimeout,
  describeValue,
} from './arguments.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { ClientConfigSchema, openBackend, type ClientConfig } from '../backend.js';
import { BatchClient } from './batch-client.js';
import { parseConfig } from '../../config.js';
import {
  EventStreamWriter,
  EventWriterOptionsSchema,
  type EventWriterOptions,
} from './event-writer.js';
import { ReaderGroup } from './reader-group/reader-group.js';
import type { ReaderGroupConfigInput } from './reader-group/reader-group-config.js';
import type { Serializer } from './serializer.js';
import { TransactionalEventStreamWriter, type TransactionalWriterOptions } from './transaction.js';
import { StreamScanner } from './stream-scanner.js';

/**
 * The entry point: one object per Pravega "cluster" — a real one (`tcp://host:9090`,
 * `tls://host:9090`) or the embedded store in a local directory (`embedded:./data`). Everything
 * built on it runs the same on both.
 */

export { ClientConfigSchema, type ClientConfig } from '../backend.js';

export { parseStreamName } from './stream-name.js';

export class PravegaClient {
  private closed = false;

  private constructor(
    readonly controller: Controller,
    readonly segmentStore: SegmentStore,
    readonly uri: string,
    private readonly release: () => Promise<void>,
  ) {}

  static async connect(config: string | ClientConfig): Promise<PravegaClient> {
    if (typeof config !== 'string' && (typeof config !== 'object' || config === null)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `connect: config must be a controllerUri ('tcp://host:9090', 'tls://host:9090', 'embedded:<dir>') or { controllerUri, ... }, got ${describeValue(config)}`,
        { details: { argument: 'config' } },
      );
    }
    const c = parseConfig(
      ClientConfigSchema,
      typeof config === 'string' ? { controllerUri: config } : config,
      'client config',
    );
    const backend = await openBackend(c);
    return new PravegaClient(backend.controller, backend.segmentStore, c.controllerUri, () =>
      backend.release(),
    );
  }

  // ---- stream management ----

  createScope(scope: string): Promise<boolean> {
    return this.call(() => {
      checkName('createScope', 'scope', 'scope', scope);
      return this.controller.createScope(scope);
    });
  }

  deleteScope(scope: string): Promise<boolean> {
    return this.call(() => {
      checkName('deleteScope', 'scope', 'scope', scope);
      return this.controller.deleteScope(scope);
    });
  }

  createStream(stream: string | StreamId, config: StreamConfig): Promise<boolean> {
    return this.call(() => {
      const id = checkStream('createStream', stream);
      return this.controller.createStream(id, checkStreamConfig('createStream', config));
    });
  }

  /** Changes the scaling policy, retention policy or tags of a stream. */
  updateStream(stream: string | StreamId, config: StreamConfig): Promise<void> {
    return this.call(() => {
      const id = checkStream('updateStream', stream);
      return this.controller.updateStream(id, checkStreamConfig('updateStream', config));
    });
  }

  sealStream(stream: string | StreamId): Promise<void> {
    return this.call(() => this.controller.sealStream(checkStream('sealStream', stream)));
  }

  deleteStream(stream: string | StreamId): Promise<boolean> {
    return this.call(() => this.controller.deleteStream(checkStream('deleteStream', stream)));
  }

  /**
   * Manual scale: seals `sealedSegments` and replaces their key ranges with `newRanges`; resolves
   * once the scale is complete.
   */
  scaleStream(
    stream: string | StreamId,
    sealedSegments: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
    timeoutMs = 60_000,
  ): Promise<ScaleResult> {
    return this.call(() => {
      const where = 'scaleStream';
      const id = checkStream(where, stream);
      checkSegmentIds(where, sealedSegments);
      checkKeyRanges(where, newRanges);
      checkTimeout(where, timeoutMs, 'timeoutMs');
      return this.scale(id, sealedSegments, newRanges, timeoutMs);
    });
  }

  private async scale(
    id: StreamId,
    sealedSegments: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
    timeoutMs: number,
  ): Promise<ScaleResult> {
    const result = await this.controller.scale(id, sealedSegments, newRanges);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.controller.checkScale(id, result.epoch);
      if (status === 'success') return result;
      if (status !== 'inProgress') {
        throw new TributaryError(
          'SCALE_FAILED',
          `scale of ${id.scope}/${id.stream} to epoch ${result.epoch} failed: ${status}`,
        );
      }
      if (Date.now() > deadline) {
        throw new TributaryError(
          'TIMEOUT',
          `scale of ${id.scope}/${id.stream} did not finish within ${timeoutMs} ms`,
        );
      }
      await sleep(50);
    }
  }

  // ---- data ----

  createWriter<T>(
    stream: string | StreamId,
    serializer: Serializer<T>,
    options: EventWriterOptions = {},
  ): Promise<EventStreamWriter<T>> {
    return this.call(() => {
      const where = 'createWriter';
      const id = checkStream(where, stream);
      checkSerializer(where, serializer);
      checkOptions(where, options);
      parseConfig(EventWriterOptionsSchema, options, `${where} options`);
      return EventStreamWriter.create(this.controller, this.segmentStore, id, serializer, options);
    });
  }

  /** Batch reads of segment ranges between stream cuts. */
  batchClient(): BatchClient {
    this.throwIfClosed();
    return new BatchClient(this.controller, this.segmentStore);
  }

  /** A writer of transactions on `stream` (lease validated against the server's bounds). */
  createTransactionalWriter<T>(
    stream: string | StreamId,
    serializer: Serializer<T>,
    options: TransactionalWriterOptions = {},
  ): TransactionalEventStreamWriter<T> {
    this.throwIfClosed();
    const where = 'createTransactionalWriter';
    const id = checkStream(where, stream);
    checkSerializer(where, serializer);
    checkOptions(where, options);
    return new TransactionalEventStreamWriter(
      id,
      this.controller,
      this.segmentStore,
      serializer,
      options,
    );
  }

  // ---- reader groups ----

  /** Creates a reader group in `scope` (READER_GROUP_EXISTS if there is one of that name). */
  createReaderGroup(
    scope: string,
    name: string,
    config: ReaderGroupConfigInput,
  ): Promise<ReaderGroup> {
    return this.call(() => {
      const where = 'createReaderGroup';
      checkName(where, 'scope', 'scope', scope);
      checkName(where, 'name', 'reader group', name);
      checkOptions(where, config, 'config', true);
      return ReaderGroup.create(this, scope, name, config);
    });
  }

  /** An existing reader group (READER_GROUP_NOT_FOUND if there is none). */
  getReaderGroup(scope: string, name: string): Promise<ReaderGroup> {
    return this.call(() => {
      checkName('getReaderGroup', 'scope', 'scope', scope);
      checkName('getReaderGroup', 'name', 'reader group', name);
      return ReaderGroup.get(this, scope, name);
    });
  }

  /** Reads a whole stream in key order with one reader (see StreamScanner). */
  scanStream<T>(
    stream: string | StreamId,
    serializer: Serializer<T>,
    from?: StreamCutPositions,
  ): Promise<StreamScanner<T>> {
    return this.call(() => {
      const where = 'scanStream';
      const id = checkStream(where, stream);
      checkSerializer(where, serializer);
      checkPositions(where, from, 'from');
      return StreamScanner.open(this.controller, this.segmentStore, id, serializer, from);
    });
  }

  /**
   * Runs an entry point: a closed client, or an argument check that fails, rejects the promise
   * (nothing is sent); so does whatever `body` throws or rejects with.
   */
  private call<R>(body: () => Promise<R>): Promise<R> {
    try {
      this.throwIfClosed();
      return body();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private throwIfClosed(): void {
    if (this.closed) throw new TributaryError('CLOSED', `client for ${this.uri} is closed`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }
}

function checkSegmentIds(where: string, value: unknown): void {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.some((s) => typeof s !== 'bigint' || s < 0n)
  ) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${where}: sealedSegments must be a non-empty array of segment ids (non-negative bigints), got ${describeValue(value)}`,
      { details: { argument: 'sealedSegments' } },
    );
  }
}

function checkKeyRanges(where: string, value: unknown): void {
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (r) =>
        Array.isArray(r) &&
        r.length === 2 &&
        typeof r[0] === 'number' &&
        typeof r[1] === 'number' &&
        r[0] >= 0 &&
        r[0] < r[1] &&
        r[1] <= 1,
    );
  if (!ok) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${where}: newRanges must be a non-empty array of [low, high] key ranges with 0 ≤ low < high ≤ 1, got ${describeValue(value)}`,
      { details: { argument: 'newRanges' } },
    );
  }
}
