import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { acquireClient, type SharedClient } from '../../src/pravega/client/client-registry.js';
import type { PravegaClient } from '../../src/pravega/client/pravega-client.js';

/**
 * The two backends every client-level integration test runs against: the real Pravega server
 * started by the global setup, and the embedded store in a fresh temporary directory. Clients come
 * from the process-wide registry, so a job started by the test shares the test's client (the
 * embedded store has one owner per directory).
 */
export interface Backend {
  readonly name: 'real' | 'embedded';
  /** The controller URI of this backend (for job options). */
  uri(): string;
  connect(): Promise<PravegaClient>;
  /** releases the clients and removes what the backend left on disk */
  cleanup(): Promise<void>;
}

function backend(name: Backend['name'], makeUri: () => string, onCleanup: () => void): Backend {
  const held: SharedClient[] = [];
  let uri: string | undefined;
  return {
    name,
    uri: () => (uri ??= makeUri()),
    connect: async () => {
      uri ??= makeUri();
      const shared = await acquireClient(uri);
      held.push(shared);
      return shared.client;
    },
    cleanup: async () => {
      await Promise.all(held.splice(0).map((s) => s.release()));
      onCleanup();
    },
  };
}

export function realBackend(): Backend {
  return backend(
    'real',
    () => inject('pravega').controllerUri,
    () => undefined,
  );
}

export function embeddedBackend(): Backend {
  let dir: string | undefined;
  return backend(
    'embedded',
    () => `embedded:${(dir = mkdtempSync(join(tmpdir(), 'tributary-embedded-')))}`,
    () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );
}

export const BACKENDS: readonly (() => Backend)[] = [realBackend, embeddedBackend];
