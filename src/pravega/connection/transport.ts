import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { TributaryError } from '../../errors.js';

/**
 * The byte pipe under a connection. This file is the only place that touches node:net/node:tls;
 * everything above speaks Transport, so tests can swap it.
 */
export interface Transport {
  /** Queues bytes; false when the kernel buffer is over its high-water mark (await `drained`). */
  write(parts: readonly Buffer[]): boolean;
  drained(): Promise<void>;
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once, when the transport is closed for any reason. */
  onClose(listener: (error?: Error) => void): void;
  close(error?: Error): void;
  readonly bufferedBytes: number;
}

export interface TransportOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: {
    readonly ca?: Buffer;
    /** name to verify the certificate against (default: host) */
    readonly servername?: string;
    readonly rejectUnauthorized?: boolean;
  };
  readonly connectTimeoutMs: number;
}

class SocketTransport implements Transport {
  private closeListeners: ((error?: Error) => void)[] = [];
  private closed = false;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close());
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  write(parts: readonly Buffer[]): boolean {
    if (this.closed) return false;
    if (parts.length === 1) return this.socket.write(parts[0]!);
    this.socket.cork();
    let ok = true;
    for (const part of parts) ok = this.socket.write(part);
    this.socket.uncork();
    return ok;
  }

  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.socket.on('data', listener);
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) l(error);
  }
}

/** Opens a TCP or TLS connection. */
export function openSocketTransport(options: TransportOptions): Promise<Transport> {
  const { host, port } = options;
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tlsConnect({
          host,
          port,
          ...(options.tls.ca ? { ca: options.tls.ca } : {}),
          servername: options.tls.servername ?? host,
          rejectUnauthorized: options.tls.rejectUnauthorized ?? true,
        })
      : netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TributaryError(
          'CONNECTION_FAILED',
          `connecting to ${host}:${port} timed out after ${options.connectTimeoutMs} ms`,
          {
            retryable: true,
          },
        ),
      );
    }, options.connectTimeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new TributaryError(
          'CONNECTION_FAILED',
          `cannot connect to segment store ${host}:${port}: ${err.message}`,
          {
            retryable: !/certificate|self.signed|unable to verify|SSL|TLS/i.test(err.message),
            cause: err,
          },
        ),
      );
    };
    socket.once('error', onError);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(new SocketTransport(socket));
    });
  });
}
