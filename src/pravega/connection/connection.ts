import { TributaryError, errorMessage } from '../../errors.js';
import {
  AuthErrorCode,
  encodeCommandParts,
  FrameDecoder,
  OLDEST_COMPATIBLE_VERSION,
  requestIdOf,
  WIRE_VERSION,
  type Command,
} from '../protocol/index.js';
import type { Transport } from './transport.js';

/**
 * One connection to a segment store: the Hello handshake, request ids, reply routing, keep-alives.
 *
 * Replies are routed by flow, as the Java client does: a request id is `(flowId << 32) | seq` and
 * the server echoes it, so `requestId >> 32` names the flow that asked. A flow is one logical
 * conversation (an append session, a read, a single request). When the connection dies every
 * open flow hears about it once, with a retryable CONNECTION_CLOSED.
 */

export interface FlowHandler {
  onCommand(cmd: Command): void;
  onClose(error: TributaryError): void;
}

export interface Flow {
  readonly id: number;
  nextRequestId(): bigint;
  /** Stops routing replies to this flow. */
  close(): void;
}

export interface ConnectionOptions {
  /** for messages: host:port */
  readonly label: string;
  /** a KeepAlive goes out when nothing was received for this long (default 10 s) */
  readonly keepAliveIntervalMs?: number;
  /** the connection is declared dead when nothing at all was received for this long (default 40 s) */
  readonly deadAfterMs?: number;
  readonly handshakeTimeoutMs?: number;
}

export class Connection {
  private readonly decoder = new FrameDecoder();
  private readonly flows = new Map<number, FlowHandler>();
  private nextFlowId = 1;
  private lastReceived = Date.now();
  private closeError: TributaryError | undefined;
  private closeListeners: ((error: TributaryError) => void)[] = [];
  private readonly keepAliveTimer: NodeJS.Timeout;
  private helloWaiter: ((cmd: Command) => void) | undefined;

  private constructor(
    private readonly transport: Transport,
    readonly label: string,
    keepAliveIntervalMs: number,
    deadAfterMs: number,
  ) {
    transport.onData((chunk) => this.onData(chunk));
    transport.onClose((error) =>
      this.shutdown(
        new TributaryError(
          'CONNECTION_CLOSED',
          `connection to segment store ${label} closed${error ? `: ${error.message}` : ''}`,
          { retryable: true, ...(error ? { cause: error } : {}) },
        ),
      ),
    );
    this.keepAliveTimer = setInterval(
      () => {
        const idle = Date.now() - this.lastReceived;
        if (idle >= deadAfterMs) {
          this.close(
            new TributaryError(
              'CONNECTION_CLOSED',
              `segment store ${label} stopped answering (no reply to keep-alives for ${idle} ms)`,
              {
                retryable: true,
              },
            ),
          );
        } else if (idle >= keepAliveIntervalMs) {
          this.send({ type: 'keepAlive' });
        }
      },
      Math.max(100, Math.min(keepAliveIntervalMs, deadAfterMs) / 2),
    );
    this.keepAliveTimer.unref();
  }

  /** Opens a connection over `transport` and completes the version handshake. */
  static async open(transport: Transport, options: ConnectionOptions): Promise<Connection> {
    const connection = new Connection(
      transport,
      options.label,
      options.keepAliveIntervalMs ?? 10_000,
      options.deadAfterMs ?? 40_000,
    );
    await connection.handshake(options.handshakeTimeoutMs ?? 10_000);
    return connection;
  }

  private handshake(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new TributaryError(
          'CONNECTION_FAILED',
          `segment store ${this.label} did not answer Hello within ${timeoutMs} ms`,
          {
            retryable: true,
          },
        );
        this.close(err);
        reject(err);
      }, timeoutMs);
      this.onClose((err) => {
        clearTimeout(timer);
        reject(err);
      });
      this.helloWaiter = (cmd) => {
        clearTimeout(timer);
        this.helloWaiter = undefined;
        if (cmd.type !== 'hello') return;
        if (cmd.lowVersion > WIRE_VERSION || cmd.highVersion < OLDEST_COMPATIBLE_VERSION) {
          const err = new TributaryError(
            'INCOMPATIBLE_SERVER',
            `segment store ${this.label} speaks wire versions ${cmd.lowVersion}..${cmd.highVersion}; this client speaks ${OLDEST_COMPATIBLE_VERSION}..${WIRE_VERSION}`,
          );
          this.close(err);
          reject(err);
          return;
        }
        resolve();
      };
      this.send({
        type: 'hello',
        highVersion: WIRE_VERSION,
        lowVersion: OLDEST_COMPATIBLE_VERSION,
      });
    });
  }

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  get bufferedBytes(): number {
    return this.transport.bufferedBytes;
  }

  /** Sends one command; false when the socket buffer is full (see {@link drained}). */
  send(cmd: Command): boolean {
    if (this.closeError) return false;
    return this.transport.write(encodeCommandParts(cmd));
  }

  /** Sends pre-encoded frames. */
  sendRaw(parts: readonly Buffer[]): boolean {
    if (this.closeError) return false;
    return this.transport.write(parts);
  }

  drained(): Promise<void> {
    return this.transport.drained();
  }

  newFlow(handler: FlowHandler): Flow {
    if (this.closeError) throw this.closeError;
    let id = this.nextFlowId;
    this.nextFlowId = (this.nextFlowId % 0x7fffffff) + 1;
    while (this.flows.has(id)) {
      id = this.nextFlowId;
      this.nextFlowId = (this.nextFlowId % 0x7fffffff) + 1;
    }
    this.flows.set(id, handler);
    let seq = 0;
    return {
      id,
      nextRequestId: () => (BigInt(id) << 32n) | BigInt(++seq >>> 0),
      close: () => {
        if (this.flows.get(id) === handler) this.flows.delete(id);
      },
    };
  }

  /**
   * Sends one request and resolves with the first reply carrying its request id.
   * `signal` abandons the wait (the reply, if it comes, is dropped). `timeoutMs` bounds the wait
   * independently of keep-alives (a server that answers keep-alives but not this request): past
   * it the request fails with a retryable TIMEOUT and its reply, if it comes later, is dropped.
   */
  request(
    build: (requestId: bigint) => Command,
    signal?: AbortSignal,
    timeoutMs?: number,
  ): Promise<Command> {
    return new Promise<Command>((resolve, reject) => {
      if (this.closeError) {
        reject(this.closeError);
        return;
      }
      let onAbort: (() => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        flow.close();
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
      };
      const flow = this.newFlow({
        onCommand: (cmd) => {
          settle();
          resolve(cmd);
        },
        onClose: (err) => {
          settle();
          reject(err);
        },
      });
      if (signal) {
        if (signal.aborted) {
          flow.close();
          reject(new TributaryError('CANCELLED', 'request cancelled', { cause: signal.reason }));
          return;
        }
        onAbort = () => {
          settle();
          reject(new TributaryError('CANCELLED', 'request cancelled', { cause: signal.reason }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      const cmd = build(flow.nextRequestId());
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          settle();
          reject(
            new TributaryError(
              'TIMEOUT',
              `segment store ${this.label} did not answer ${cmd.type} within ${timeoutMs} ms`,
              { retryable: true, details: { label: this.label, request: cmd.type, timeoutMs } },
            ),
          );
        }, timeoutMs);
        timer.unref();
      }
      this.send(cmd);
    });
  }

  onClose(listener: (error: TributaryError) => void): void {
    if (this.closeError) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  close(error?: TributaryError): void {
    this.shutdown(
      error ??
        new TributaryError(
          'CONNECTION_CLOSED',
          `connection to ${this.label} closed by the client`,
          { retryable: true },
        ),
    );
  }

  private shutdown(error: TributaryError): void {
    if (this.closeError) return;
    this.closeError = error;
    clearInterval(this.keepAliveTimer);
    this.transport.close();
    const flows = [...this.flows.values()];
    this.flows.clear();
    for (const flow of flows) flow.onClose(error);
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) l(error);
  }

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now();
    try {
      this.decoder.push(chunk, (cmd) => this.dispatch(cmd));
    } catch (err) {
      this.close(
        new TributaryError(
          'PROTOCOL_ERROR',
          `undecodable data from segment store ${this.label}: ${errorMessage(err)}`,
          {
            retryable: true,
            cause: err,
          },
        ),
      );
    }
  }

  private dispatch(cmd: Command): void {
    if (cmd.type === 'hello') {
      this.helloWaiter?.(cmd);
      return;
    }
    if (cmd.type === 'keepAlive') return;
    const requestId = requestIdOf(cmd);
    if (cmd.type === 'authTokenCheckFailed') {
      // A 0.13 server answers a ReadSegment whose token it rejects with the read's *offset* in
      // place of the request id, so this reply may belong to any request on the connection. The
      // flow it names (if any) hears it; then the connection closes, so that every other request
      // on it fails too and is retried — with a fresh token when this one expired.
      if (requestId !== undefined && requestId >= 0n) {
        this.flows.get(Number(requestId >> 32n))?.onCommand(cmd);
      }
      this.close(
        cmd.errorCode === AuthErrorCode.TokenExpired
          ? new TributaryError(
              'TOKEN_EXPIRED',
              `segment store ${this.label}: a delegation token expired`,
              { retryable: true },
            )
          : new TributaryError(
              'AUTH_FAILED',
              `segment store ${this.label} refused a delegation token`,
            ),
      );
      return;
    }
    if (requestId === undefined || requestId < 0n) return;
    const flow = this.flows.get(Number(requestId >> 32n));
    flow?.onCommand(cmd);
  }
}
