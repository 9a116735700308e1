import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type {
  ScaleResult,
  StreamConfig,
  StreamCutPositions,
  StreamId,
} from '../controller/types.js';
import { validateName } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { ClientConfigSchema, openBackend, type ClientConfig } from '../backend.js';
import { BatchClient } from './batch-client.js';
import { parseConfig } from '../../config.js';
import { EventStreamWriter, type EventWriterOptions } from './event-writer.js';
import { ReaderGroup } from './reader-group/reader-group.js';
import type { ReaderGroupConfigInput } from './reader-group/reader-group-config.js';
import type { Serializer } from './serializer.js';
import { TransactionalEventStreamWriter, type TransactionalWriterOptions } from './transaction.js';
import { StreamScanner } from './stream-scanner.js';
import { parseStreamName } from './stream-name.js';

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
    validateName('scope', scope);
    return this.controller.createScope(scope);
  }

  deleteScope(scope: string): Promise<boolean> {
    return this.controller.deleteScope(scope);
  }

  createStream(stream: string | StreamId, config: StreamConfig): Promise<boolean> {
    const id = parseStreamName(stream);
    validateName('scope', id.scope);
    validateName('stream', id.stream);
    return this.controller.createStream(id, config);
  }

  sealStream(stream: string | StreamId): Promise<void> {
    return this.controller.sealStream(parseStreamName(stream));
  }

  deleteStream(stream: string | StreamId): Promise<boolean> {
    return this.controller.deleteStream(parseStreamName(stream));
  }

  /**
   * Manual scale: seals `sealedSegments` and replaces their key ranges with `newRanges`; resolves
   * once the scale is complete.
   */
  async scaleStream(
    stream: string | StreamId,
    sealedSegments: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
    timeoutMs = 60_000,
  ): Promise<ScaleResult> {
    const id = parseStreamName(stream);
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
    this.throwIfClosed();
    return EventStreamWriter.create(
      this.controller,
      this.segmentStore,
      parseStreamName(stream),
      serializer,
      options,
    );
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
    return new TransactionalEventStreamWriter(
      parseStreamName(stream),
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
    this.throwIfClosed();
    return ReaderGroup.create(this, scope, name, config);
  }

  /** An existing reader group (READER_GROUP_NOT_FOUND if there is none). */
  getReaderGroup(scope: string, name: string): Promise<ReaderGroup> {
    this.throwIfClosed();
    return ReaderGroup.get(this, scope, name);
  }

  /** Reads a whole stream in key order with one reader (see StreamScanner). */
  scanStream<T>(
    stream: string | StreamId,
    serializer: Serializer<T>,
    from?: StreamCutPositions,
  ): Promise<StreamScanner<T>> {
    this.throwIfClosed();
    return StreamScanner.open(
      this.controller,
      this.segmentStore,
      parseStreamName(stream),
      serializer,
      from,
    );
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
