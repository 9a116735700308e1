import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage, hasErrorCode, isRetryable } from '../../errors.js';
import type { Connection, Flow } from '../connection/connection.js';
import type {
  ConnectionPool,
  ConnectionPurpose,
  SegmentStoreEndpoint,
} from '../connection/connection-pool.js';
import type { Controller } from '../controller/controller.js';
import type { StreamId } from '../controller/types.js';
import {
  isErrorReply,
  LONG_MIN,
  newUuid,
  NO_TABLE_SEGMENT_OFFSET,
  parseSegmentName,
  ScaleType,
  TABLE_KEY_NO_VERSION,
  type Command,
} from '../protocol/index.js';
import { errorFromReply } from './reply-errors.js';
import type {
  AppendSession,
  AppendSessionHandlers,
  SegmentInfo,
  SegmentReadResult,
  SegmentScalePolicy,
  SegmentStore,
  TableEntriesPage,
  TableEntry,
  TableKeyRef,
  TableUpdate,
} from './segment-store.js';
import { TokenCache } from './token-cache.js';

/**
 * The SegmentStore over Pravega's wire protocol. Each segment is routed to the segment store that
 * hosts it (controller `getURI`, cached; `WrongHost` or a dead connection re-resolves it);
 * delegation tokens come from the controller. Requests that are safe to repeat are retried with
 * backoff on connection failures.
 */

export interface WireSegmentStoreOptions {
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Bound of one request, across its retries (default 30 s): a request the server does not
   * answer in time fails with a retryable TIMEOUT, whatever the keep-alives say. A read waiting
   * at the tail of a segment (a long poll, which the server may hold for ever) is kept as long as
   * the server answers a probe on the same connection within this; appends must be acknowledged
   * within it.
   */
  readonly requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const EMPTY = Buffer.alloc(0);

export class WireSegmentStore implements SegmentStore {
  private readonly endpoints = new Map<string, Promise<SegmentStoreEndpoint>>();
  private readonly tokens: TokenCache;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly controller: Controller,
    private readonly pool: ConnectionPool,
    options: WireSegmentStoreOptions = {},
  ) {
    this.tokens = new TokenCache(controller);
    this.maxAttempts = options.maxAttempts ?? 10;
    this.initialBackoffMs = options.initialBackoffMs ?? 50;
    this.maxBackoffMs = options.maxBackoffMs ?? 3_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  // ---- routing ----

  private streamOf(segment: string): StreamId {
    const parsed = parseSegmentName(segment);
    return { scope: parsed.scope, stream: parsed.stream };
  }

  private endpointOf(segment: string): Promise<SegmentStoreEndpoint> {
    const parsed = parseSegmentName(segment);
    const key = `${parsed.scope}/${parsed.stream}/${parsed.segmentId}`;
    let endpoint = this.endpoints.get(key);
    if (!endpoint) {
      endpoint = this.controller.getEndpoint({
        scope: parsed.scope,
        stream: parsed.stream,
        segmentId: parsed.segmentId,
      });
      this.endpoints.set(key, endpoint);
      endpoint.catch(() => this.endpoints.delete(key));
    }
    return endpoint;
  }

  private forget(segment: string, error: unknown): void {
    const parsed = parseSegmentName(segment);
    if (hasErrorCode(error, 'WRONG_HOST', 'CONNECTION_CLOSED', 'CONNECTION_FAILED', 'TIMEOUT')) {
      this.endpoints.delete(`${parsed.scope}/${parsed.stream}/${parsed.segmentId}`);
    }
    if (TributaryError.is(error, 'TOKEN_EXPIRED'))
      this.tokens.invalidate({ scope: parsed.scope, stream: parsed.stream });
  }

  private async connectionFor(
    segment: string,
    purpose: ConnectionPurpose,
  ): Promise<{ connection: Connection; token: string }> {
    const [endpoint, token] = await Promise.all([
      this.endpointOf(segment),
      this.tokens.get(this.streamOf(segment)),
    ]);
    const connection = await this.pool.get(endpoint, purpose);
    return { connection, token };
  }

  private backoff(attempt: number): Promise<void> {
    const ms = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** attempt);
    return sleep(Math.round(ms * (0.8 + Math.random() * 0.4)));
  }

  /**
   * One request/reply exchange about `segment`, retried on retryable failures (dead connection,
   * wrong host, expired token, no answer) until `requestTimeoutMs` has passed since the server
   * last showed it was working on the request. `handle` turns the reply into the result; error
   * replies it does not handle become typed errors.
   */
  private async rpc<T>(
    what: string,
    segment: string,
    purpose: ConnectionPurpose,
    build: (requestId: bigint, token: string) => Command,
    handle: (reply: Command) => T | undefined,
    signal?: AbortSignal,
  ): Promise<T> {
    let deadline = Date.now() + this.requestTimeoutMs;
    const alive = (): void => {
      deadline = Date.now() + this.requestTimeoutMs;
    };
    for (let attempt = 0; ; attempt++) {
      let used: Connection | undefined;
      try {
        const { connection, token } = await this.connectionFor(segment, purpose);
        used = connection;
        const reply =
          purpose === 'read'
            ? await this.longPoll(connection, segment, token, build, alive, signal)
            : await connection.request(
                (id) => build(id, token),
                signal,
                Math.max(1, deadline - Date.now()),
              );
        const result = handle(reply);
        if (result !== undefined) return result;
        if (isErrorReply(reply)) throw errorFromReply(reply, what);
        throw new TributaryError('PROTOCOL_ERROR', `${what}: unexpected reply ${reply.type}`);
      } catch (err) {
        this.forget(segment, err);
        // a connection that answers keep-alives but not requests is of no use: the retry (and
        // every other request on it) goes to a new one
        if (TributaryError.is(err, 'TIMEOUT')) used?.close(err);
        if (
          signal?.aborted ||
          !isRetryable(err) ||
          attempt + 1 >= this.maxAttempts ||
          Date.now() >= deadline
        ) {
          throw TributaryError.is(err)
            ? err
            : new TributaryError('INTERNAL', `${what}: ${errorMessage(err)}`, { cause: err });
        }
        await this.backoff(attempt);
      }
    }
  }

  /**
   * A read, which the server holds while it waits at the tail of a segment: every
   * `requestTimeoutMs / 2` without a reply, the same connection is probed with a segment-info
   * request. An answered probe shows the server is working (the read goes on waiting, `alive`
   * is called); an unanswered one abandons the read with a retryable TIMEOUT.
   */
  private longPoll(
    connection: Connection,
    segment: string,
    token: string,
    build: (requestId: bigint, token: string) => Command,
    alive: () => void,
    signal?: AbortSignal,
  ): Promise<Command> {
    const abandon = new AbortController();
    const onAbort = (): void => abandon.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const read = connection.request((id) => build(id, token), abandon.signal);
    const period = Math.max(1, Math.floor(this.requestTimeoutMs / 2));
    let timer: NodeJS.Timeout | undefined;
    const watch = new Promise<never>((_, reject) => {
      const tick = (): void => {
        connection
          .request(
            (requestId) => ({
              type: 'getStreamSegmentInfo',
              requestId,
              segment,
              delegationToken: token,
            }),
            abandon.signal,
            period,
          )
          .then(
            () => {
              alive();
              if (!abandon.signal.aborted) timer = setTimeout(tick, period);
            },
            (err: unknown) => {
              if (abandon.signal.aborted) return;
              reject(
                TributaryError.is(err, 'TIMEOUT')
                  ? new TributaryError(
                      'TIMEOUT',
                      `segment store ${connection.label} did not answer a read of ${segment} ` +
                        `nor a probe within ${this.requestTimeoutMs} ms`,
                      { retryable: true, cause: err, details: { segment } },
                    )
                  : asError(err),
              );
            },
          );
      };
      timer = setTimeout(tick, period);
    });
    return Promise.race([read, watch]).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // the read's reply, if it comes later, is dropped; a pending probe is dropped too
      abandon.abort();
      read.catch(() => undefined);
    });
  }

  // ---- appends ----

  async openAppendSession(
    segment: string,
    writerId: string,
    handlers: AppendSessionHandlers,
  ): Promise<AppendSession> {
    try {
      const { connection, token } = await this.connectionFor(segment, 'append');
      return await WireAppendSession.open(
        connection,
        segment,
        writerId,
        token,
        handlers,
        this.requestTimeoutMs,
      );
    } catch (err) {
      this.forget(segment, err);
      // a server closes an append connection, rather than answering, when the token has expired
      if (hasErrorCode(err, 'CONNECTION_CLOSED')) this.tokens.invalidate(this.streamOf(segment));
      throw err;
    }
  }

  async conditionalAppend(
    segment: string,
    expectedOffset: bigint,
    framedEvent: Buffer,
  ): Promise<boolean> {
    const deadline = Date.now() + this.requestTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      let used: Connection | undefined;
      try {
        const { connection, token } = await this.connectionFor(segment, 'append');
        used = connection;
        return await conditionalAppendOnce(
          connection,
          segment,
          token,
          expectedOffset,
          framedEvent,
          Math.max(1, deadline - Date.now()),
        );
      } catch (err) {
        this.forget(segment, err);
        if (TributaryError.is(err, 'TIMEOUT')) used?.close(err);
        if (!isRetryable(err) || attempt + 1 >= this.maxAttempts || Date.now() >= deadline) {
          throw err;
        }
        await this.backoff(attempt);
      }
    }
  }

  // ---- reads and metadata ----

  read(
    segment: string,
    offset: bigint,
    suggestedLength: number,
    signal?: AbortSignal,
  ): Promise<SegmentReadResult> {
    return this.rpc(
      'read',
      segment,
      'read',
      (requestId, delegationToken) => ({
        type: 'readSegment',
        segment,
        offset,
        suggestedLength,
        delegationToken,
        requestId,
      }),
      (reply) => {
        if (reply.type === 'segmentRead') {
          return {
            offset: reply.offset,
            data: reply.data,
            atTail: reply.atTail,
            endOfSegment: reply.endOfSegment,
          };
        }
        // a read at the end of a sealed segment
        if (reply.type === 'segmentIsSealed')
          return { offset, data: EMPTY, atTail: true, endOfSegment: true };
        return undefined;
      },
      signal,
    );
  }

  getInfo(segment: string): Promise<SegmentInfo> {
    return this.rpc(
      'segment info',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'getStreamSegmentInfo',
        requestId,
        segment,
        delegationToken,
      }),
      (reply) => {
        if (reply.type !== 'streamSegmentInfo') return undefined;
        if (!reply.exists || reply.isDeleted) {
          throw new TributaryError('NO_SUCH_SEGMENT', `segment ${segment} does not exist`, {
            details: { segment },
          });
        }
        return {
          segment,
          sealed: reply.isSealed,
          lastModified: reply.lastModified,
          length: reply.writeOffset,
          startOffset: reply.startOffset,
        };
      },
    );
  }

  createSegment(
    segment: string,
    policy: SegmentScalePolicy = { type: 'none', targetRate: 0 },
  ): Promise<boolean> {
    return this.rpc(
      'create segment',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'createSegment',
        requestId,
        segment,
        targetRate: policy.targetRate,
        scaleType: scaleTypeOf(policy),
        delegationToken,
        rolloverSizeBytes: 0n,
      }),
      (reply) =>
        reply.type === 'segmentCreated'
          ? true
          : reply.type === 'segmentAlreadyExists'
            ? false
            : undefined,
    );
  }

  async sealSegment(segment: string): Promise<bigint> {
    await this.rpc(
      'seal segment',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'sealSegment',
        requestId,
        segment,
        delegationToken,
      }),
      (reply) =>
        reply.type === 'segmentSealed' || reply.type === 'segmentIsSealed' ? true : undefined,
    );
    return (await this.getInfo(segment)).length;
  }

  async truncateSegment(segment: string, offset: bigint): Promise<void> {
    await this.rpc(
      'truncate segment',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'truncateSegment',
        requestId,
        segment,
        truncationOffset: offset,
        delegationToken,
      }),
      (reply) => (reply.type === 'segmentTruncated' ? true : undefined),
    );
  }

  deleteSegment(segment: string): Promise<boolean> {
    return this.rpc(
      'delete segment',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'deleteSegment',
        requestId,
        segment,
        delegationToken,
      }),
      (reply) =>
        reply.type === 'segmentDeleted' ? true : reply.type === 'noSuchSegment' ? false : undefined,
    );
  }

  mergeSegments(target: string, sources: readonly string[]): Promise<bigint> {
    return this.rpc(
      'merge segments',
      target,
      'request',
      (requestId, delegationToken) => ({
        type: 'mergeSegmentsBatch',
        requestId,
        target,
        sources,
        delegationToken,
      }),
      (reply) => {
        if (reply.type !== 'segmentsBatchMerged') return undefined;
        return reply.merged.reduce(
          (max, m) => (m.newTargetWriteOffset > max ? m.newTargetWriteOffset : max),
          -1n,
        );
      },
    );
  }

  async updateSegmentPolicy(segment: string, policy: SegmentScalePolicy): Promise<void> {
    await this.rpc(
      'update segment policy',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'updateSegmentPolicy',
        requestId,
        segment,
        targetRate: policy.targetRate,
        scaleType: scaleTypeOf(policy),
        delegationToken,
      }),
      (reply) => (reply.type === 'segmentPolicyUpdated' ? true : undefined),
    );
  }

  getAttribute(segment: string, attributeId: string): Promise<bigint | undefined> {
    return this.rpc(
      'get attribute',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'getSegmentAttribute',
        requestId,
        segment,
        attributeId,
        delegationToken,
      }),
      (reply) =>
        reply.type === 'segmentAttribute'
          ? { value: reply.value === LONG_MIN ? undefined : reply.value }
          : undefined,
    ).then((r) => r.value);
  }

  updateAttribute(
    segment: string,
    attributeId: string,
    value: bigint,
    expected: bigint | undefined,
  ): Promise<boolean> {
    return this.rpc(
      'update attribute',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'updateSegmentAttribute',
        requestId,
        segment,
        attributeId,
        newValue: value,
        expectedValue: expected ?? LONG_MIN,
        delegationToken,
      }),
      (reply) => (reply.type === 'segmentAttributeUpdated' ? reply.success : undefined),
    );
  }

  // ---- table segments ----

  createTableSegment(segment: string): Promise<boolean> {
    return this.rpc(
      'create table segment',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'createTableSegment',
        requestId,
        segment,
        delegationToken,
        sortedDeprecated: false,
        keyLength: 0,
        rolloverSizeBytes: 0n,
      }),
      (reply) =>
        reply.type === 'segmentCreated'
          ? true
          : reply.type === 'segmentAlreadyExists'
            ? false
            : undefined,
    );
  }

  deleteTableSegment(segment: string, mustBeEmpty: boolean): Promise<boolean> {
    return this.rpc(
      'delete table segment',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'deleteTableSegment',
        requestId,
        segment,
        mustBeEmpty,
        delegationToken,
      }),
      (reply) =>
        reply.type === 'segmentDeleted' ? true : reply.type === 'noSuchSegment' ? false : undefined,
    );
  }

  tableGet(segment: string, keys: readonly Buffer[]): Promise<(TableEntry | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.rpc(
      'table get',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'readTable',
        requestId,
        segment,
        delegationToken,
        keys: keys.map((key) => ({ key, version: TABLE_KEY_NO_VERSION })),
      }),
      (reply) => {
        if (reply.type !== 'tableRead') return undefined;
        return reply.entries.map((e, i) =>
          e.version < 0n
            ? undefined
            : { key: keys[i] ?? e.key, value: Buffer.from(e.value), version: e.version },
        );
      },
    );
  }

  tableUpdate(segment: string, entries: readonly TableUpdate[]): Promise<bigint[]> {
    if (entries.length === 0) return Promise.resolve([]);
    return this.rpc(
      'table update',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'updateTableEntries',
        requestId,
        segment,
        delegationToken,
        entries: entries.map((e) => ({
          key: e.key,
          value: e.value,
          version: e.version ?? TABLE_KEY_NO_VERSION,
        })),
        tableSegmentOffset: NO_TABLE_SEGMENT_OFFSET,
      }),
      (reply) => (reply.type === 'tableEntriesUpdated' ? [...reply.updatedVersions] : undefined),
    );
  }

  async tableRemove(segment: string, keys: readonly TableKeyRef[]): Promise<void> {
    if (keys.length === 0) return;
    await this.rpc(
      'table remove',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'removeTableKeys',
        requestId,
        segment,
        delegationToken,
        keys: keys.map((k) => ({ key: k.key, version: k.version ?? TABLE_KEY_NO_VERSION })),
        tableSegmentOffset: NO_TABLE_SEGMENT_OFFSET,
      }),
      (reply) => (reply.type === 'tableKeysRemoved' ? true : undefined),
    );
  }

  tableReadEntries(
    segment: string,
    continuationToken: Buffer | undefined,
    maxCount: number,
  ): Promise<TableEntriesPage> {
    return this.rpc(
      'table read entries',
      segment,
      'request',
      (requestId, delegationToken) => ({
        type: 'readTableEntries',
        requestId,
        segment,
        delegationToken,
        suggestedEntryCount: maxCount,
        continuationToken: continuationToken ?? EMPTY,
        fromKey: EMPTY,
        toKey: EMPTY,
      }),
      (reply) =>
        reply.type === 'tableEntriesRead'
          ? {
              entries: reply.entries.map((e) => ({
                key: Buffer.from(e.key),
                value: Buffer.from(e.value),
                version: e.version,
              })),
              continuationToken: Buffer.from(reply.continuationToken),
            }
          : undefined,
    );
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function scaleTypeOf(policy: SegmentScalePolicy): number {
  return policy.type === 'throughput'
    ? ScaleType.Throughput
    : policy.type === 'eventRate'
      ? ScaleType.EventRate
      : ScaleType.NoScaling;
}

/**
 * Appends of one writer id to one segment over one connection (see SegmentStore). The setup must
 * be answered, and every append acknowledged, within `timeoutMs` (the oldest unacknowledged
 * append counts from the last ack that made progress); otherwise the session fails with a
 * retryable TIMEOUT and the writer sets up a new one. Exported for tests only.
 */
export class WireAppendSession implements AppendSession {
  private flow!: Flow;
  private done = false;
  lastEventNumber: bigint | undefined;
  private lastSent: bigint | undefined;
  /** when the oldest unacknowledged append was sent, or the last ack came */
  private waitingSince: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(
    private readonly connection: Connection,
    private readonly segment: string,
    private readonly writerId: string,
    private readonly handlers: AppendSessionHandlers,
    private readonly timeoutMs: number,
  ) {}

  static open(
    connection: Connection,
    segment: string,
    writerId: string,
    token: string,
    handlers: AppendSessionHandlers,
    timeoutMs: number,
  ): Promise<WireAppendSession> {
    const session = new WireAppendSession(connection, segment, writerId, handlers, timeoutMs);
    return new Promise<WireAppendSession>((resolve, reject) => {
      let settled = false;
      const setupTimer = setTimeout(() => {
        if (settled) return;
        settled = true;
        session.flow.close();
        const err = new TributaryError(
          'TIMEOUT',
          `segment store ${connection.label} did not answer the append setup for ${segment} within ${timeoutMs} ms`,
          { retryable: true, details: { segment, timeoutMs } },
        );
        // a server that answers keep-alives but not requests: the next try needs a new connection
        connection.close(err);
        reject(err);
      }, timeoutMs);
      // a connection closed meanwhile refuses the flow (throws): then no setup timer may stay
      // behind (it would close a flow that does not exist, an uncaught TypeError in a timer)
      const newFlow = (handler: Parameters<Connection['newFlow']>[0]) => {
        try {
          return connection.newFlow(handler);
        } catch (err) {
          settled = true;
          clearTimeout(setupTimer);
          throw err;
        }
      };
      session.flow = newFlow({
        onCommand: (cmd) => {
          if (!settled) {
            settled = true;
            clearTimeout(setupTimer);
            if (cmd.type === 'appendSetup') {
              session.startWatchdog();
              session.lastEventNumber =
                cmd.lastEventNumber === LONG_MIN ? undefined : cmd.lastEventNumber;
              resolve(session);
            } else {
              session.flow.close();
              reject(
                isErrorReply(cmd)
                  ? errorFromReply(cmd, `append setup for ${segment}`)
                  : new TributaryError(
                      'PROTOCOL_ERROR',
                      `append setup for ${segment}: unexpected ${cmd.type}`,
                    ),
              );
            }
            return;
          }
          session.onCommand(cmd);
        },
        onClose: (err) => {
          if (!settled) {
            settled = true;
            clearTimeout(setupTimer);
            reject(err);
          } else session.fail(err);
        },
      });
      try {
        connection.send({
          type: 'setupAppend',
          requestId: session.flow.nextRequestId(),
          writerId,
          segment,
          delegationToken: token,
        });
      } catch (err) {
        settled = true;
        clearTimeout(setupTimer);
        session.flow.close();
        throw err;
      }
    });
  }

  private startWatchdog(): void {
    this.watchdog = setInterval(
      () => {
        if (this.waitingSince === undefined) return;
        const waited = Date.now() - this.waitingSince;
        if (waited < this.timeoutMs) return;
        this.fail(
          new TributaryError(
            'TIMEOUT',
            `segment store ${this.connection.label} acknowledged no append to ${this.segment} for ${waited} ms (request timeout ${this.timeoutMs} ms)`,
            { retryable: true, details: { segment: this.segment, timeoutMs: this.timeoutMs } },
          ),
        );
      },
      Math.max(20, Math.floor(this.timeoutMs / 4)),
    );
    this.watchdog.unref();
  }

  append(framedEvents: Buffer, eventCount: number, lastEventNumber: bigint): void {
    if (this.done) return;
    this.lastSent = lastEventNumber;
    this.waitingSince ??= Date.now();
    this.connection.send({
      type: 'appendBlockEnd',
      writerId: this.writerId,
      sizeOfWholeEvents: framedEvents.length,
      data: framedEvents,
      numEvents: eventCount,
      lastEventNumber,
      requestId: this.flow.nextRequestId(),
    });
  }

  private onCommand(cmd: Command): void {
    if (this.done) return;
    if (cmd.type === 'dataAppended') {
      this.waitingSince =
        this.lastSent !== undefined && cmd.eventNumber >= this.lastSent ? undefined : Date.now();
      this.handlers.onAck(cmd.eventNumber, cmd.previousEventNumber);
    } else if (isErrorReply(cmd)) {
      const err = errorFromReply(cmd, `append to ${this.segment}`);
      this.fail(err);
      // the server closes an append connection after most failures; make sure it is not reused
      if (cmd.type === 'invalidEventNumber') this.connection.close(err);
    }
  }

  private fail(error: TributaryError): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.watchdog);
    this.flow.close();
    this.handlers.onFailure(error);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.watchdog);
    this.flow.close();
  }
}

async function conditionalAppendOnce(
  connection: Connection,
  segment: string,
  token: string,
  expectedOffset: bigint,
  framedEvent: Buffer,
  timeoutMs: number,
): Promise<boolean> {
  const writerId = newUuid();
  const setup = await connection.request(
    (requestId) => ({
      type: 'setupAppend',
      requestId,
      writerId,
      segment,
      delegationToken: token,
    }),
    undefined,
    timeoutMs,
  );
  if (setup.type !== 'appendSetup') {
    throw isErrorReply(setup)
      ? errorFromReply(setup, `conditional append to ${segment}`)
      : new TributaryError('PROTOCOL_ERROR', `unexpected ${setup.type}`);
  }
  const reply = await connection.request(
    (requestId) => ({
      type: 'conditionalAppend',
      writerId,
      eventNumber: 1n,
      expectedOffset,
      data: framedEvent.subarray(8),
      requestId,
    }),
    undefined,
    timeoutMs,
  );
  if (reply.type === 'dataAppended') return true;
  if (reply.type === 'conditionalCheckFailed') return false;
  throw isErrorReply(reply)
    ? errorFromReply(reply, `conditional append to ${segment}`)
    : new TributaryError('PROTOCOL_ERROR', `unexpected ${reply.type}`);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new TributaryError('INTERNAL', errorMessage(err));
}
