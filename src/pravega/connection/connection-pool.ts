import { Connection, type ConnectionOptions } from './connection.js';
import { openSocketTransport, type Transport } from './transport.js';

/**
 * Connections to segment stores, shared per (endpoint, purpose). Appends, tail reads and other
 * requests use separate connections so a long-poll read or a large read reply never delays acks.
 * A closed connection is replaced on the next `get`.
 */

export type ConnectionPurpose = 'append' | 'read' | 'request';

export interface ConnectionPoolOptions {
  readonly tls?: { readonly ca?: Buffer; readonly rejectUnauthorized?: boolean };
  /**
   * Host to dial when a segment store publishes an unspecified address (0.0.0.0, ::), as the
   * standalone server does: the controller's host.
   */
  readonly fallbackHost: string;
  readonly connectTimeoutMs?: number;
  readonly connection?: Omit<ConnectionOptions, 'label'>;
  /** opens the byte pipe; defaults to TCP/TLS sockets (tests put a proxy or fake here) */
  readonly transportFactory?: (host: string, port: number) => Promise<Transport>;
}

export interface SegmentStoreEndpoint {
  readonly host: string;
  readonly port: number;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '[::]', '']);

export class ConnectionPool {
  private readonly connections = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(private readonly options: ConnectionPoolOptions) {}

  /** The host and port actually dialled for a published endpoint. */
  resolve(endpoint: SegmentStoreEndpoint): SegmentStoreEndpoint {
    return UNSPECIFIED.has(endpoint.host)
      ? { host: this.options.fallbackHost, port: endpoint.port }
      : endpoint;
  }

  get(endpoint: SegmentStoreEndpoint, purpose: ConnectionPurpose): Promise<Connection> {
    const target = this.resolve(endpoint);
    const key = `${purpose}|${target.host}:${target.port}`;
    const existing = this.connections.get(key);
    if (existing) {
      return existing.then(
        (c) => (c.closed ? this.replace(key, target, existing) : c),
        () => this.replace(key, target, existing),
      );
    }
    return this.open(key, target);
  }

  private replace(
    key: string,
    target: SegmentStoreEndpoint,
    stale: Promise<Connection>,
  ): Promise<Connection> {
    const current = this.connections.get(key);
    if (current !== undefined && current !== stale) return current;
    return this.open(key, target);
  }

  private open(key: string, target: SegmentStoreEndpoint): Promise<Connection> {
    const label = `${target.host}:${target.port}`;
    const opening = (async () => {
      const transport = this.options.transportFactory
        ? await this.options.transportFactory(target.host, target.port)
        : await openSocketTransport({
            host: target.host,
            port: target.port,
            connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000,
            ...(this.options.tls
              ? {
                  tls: {
                    ...(this.options.tls.ca ? { ca: this.options.tls.ca } : {}),
                    ...(this.options.tls.rejectUnauthorized === false
                      ? { rejectUnauthorized: false }
                      : {}),
                  },
                }
              : {}),
          });
      const connection = await Connection.open(transport, { label, ...this.options.connection });
      if (this.closed) connection.close();
      return connection;
    })();
    this.connections.set(key, opening);
    opening.catch(() => {
      if (this.connections.get(key) === opening) this.connections.delete(key);
    });
    return opening;
  }

  /** Closes every connection (open flows hear CONNECTION_CLOSED). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (c) => c.close(),
          () => undefined,
        ),
      ),
    );
  }
}
