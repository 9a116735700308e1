import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { ConnectionPool } from './connection/connection-pool.js';
import type { Controller } from './controller/controller.js';
import { GrpcController } from './controller/grpc-controller.js';
import { DEFAULT_CONTROLLER_TIMEOUT_MS } from './controller/grpc/retry.js';
import { parseControllerUri } from './controller/uri.js';
import { openEmbeddedPravega } from './embedded/index.js';
import type { SegmentStore } from './segment/segment-store.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, WireSegmentStore } from './segment/wire-segment-store.js';

/**
 * The one place that chooses what a client talks to: a real cluster over gRPC and the wire
 * protocol (`tcp://`, `tls://`), or the embedded store of a directory (`embedded:<dir>`, shared by
 * every client of this process that opens the same directory). The client above sees only a
 * Controller and a SegmentStore.
 */

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

const timeoutMs = z.number().int().min(1).max(3_600_000);

export const ClientConfigSchema = z
  .object({
    /** tcp://host:port, tls://host:port, or embedded:<directory> */
    controllerUri: z.string().min(1),
    credentials: z
      .object({ username: z.string().min(1), password: z.string() })
      .strict()
      .optional(),
    /** CA certificate (PEM text or a file path) to trust for tls:// */
    trustedCa: z.string().optional(),
    /** verify that server certificates name the host dialled (default true) */
    validateHostname: z.boolean().default(true),
    /** `connect()` fails when the controller is not reachable within this (default 5 s) */
    connectTimeoutMs: timeoutMs.default(DEFAULT_CONNECT_TIMEOUT_MS),
    /** deadline of one controller call across all its retries (default 30 s) */
    controllerTimeoutMs: timeoutMs.default(DEFAULT_CONTROLLER_TIMEOUT_MS),
    /**
     * a segment store request without an answer for this long fails with a retryable TIMEOUT
     * (default 30 s); a read waiting at the tail of a segment is kept while the server answers
     * other requests on its connection
     */
    requestTimeoutMs: timeoutMs.default(DEFAULT_REQUEST_TIMEOUT_MS),
    /** options of the embedded store (embedded: URIs only) */
    embedded: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ClientConfig = z.input<typeof ClientConfigSchema>;
export type ParsedClientConfig = z.output<typeof ClientConfigSchema>;

export interface Backend {
  readonly controller: Controller;
  readonly segmentStore: SegmentStore;
  /** Gives the backend back (closes the connections, or this client's share of the store). */
  release(): Promise<void>;
}

export async function openBackend(c: ParsedClientConfig): Promise<Backend> {
  if (c.controllerUri.startsWith('embedded:')) {
    const dir = c.controllerUri.slice('embedded:'.length);
    if (dir === '')
      throw new TributaryError(
        'CONFIG_INVALID',
        'controllerUri: embedded: needs a directory, e.g. embedded:./data',
      );
    const store = await openEmbeddedPravega(dir, c.embedded);
    return {
      controller: store.controller,
      segmentStore: store.segmentStore,
      release: () => store.close(),
    };
  }
  return openWireBackend(c);
}

async function openWireBackend(c: ParsedClientConfig): Promise<Backend> {
  const address = parseControllerUri(c.controllerUri);
  const ca =
    c.trustedCa === undefined
      ? undefined
      : c.trustedCa.includes('-----BEGIN')
        ? Buffer.from(c.trustedCa)
        : readTrustedCa(c.trustedCa);
  const controller = new GrpcController({
    uri: c.controllerUri,
    ...(c.credentials ? { credentials: c.credentials } : {}),
    ...(ca ? { trustedCa: ca } : {}),
    validateHostname: c.validateHostname,
    callTimeoutMs: c.controllerTimeoutMs,
  });
  try {
    await controller.waitForReady(c.connectTimeoutMs);
  } catch (err) {
    await controller.close();
    throw err;
  }
  const pool = new ConnectionPool({
    fallbackHost: address.host,
    connectTimeoutMs: Math.min(c.connectTimeoutMs * 2, c.requestTimeoutMs),
    ...(address.tls
      ? {
          tls: {
            ...(ca ? { ca } : {}),
            ...(c.validateHostname ? {} : { rejectUnauthorized: false }),
          },
        }
      : {}),
  });
  const store = new WireSegmentStore(controller, pool, { requestTimeoutMs: c.requestTimeoutMs });
  return {
    controller,
    segmentStore: store,
    release: async () => {
      await store.close();
      await controller.close();
    },
  };
}

function readTrustedCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `trustedCa: cannot read the CA certificate file ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
