import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { PravegaClient } from '../../src/pravega/client/pravega-client.js';

/**
 * The two backends every client-level integration test runs against: the real Pravega server
 * started by the global setup, and the embedded store in a fresh temporary directory.
 */
export interface Backend {
  readonly name: 'real' | 'embedded';
  connect(): Promise<PravegaClient>;
  /** removes what the backend left on disk */
  cleanup(): void;
}

export function realBackend(): Backend {
  return {
    name: 'real',
    connect: () => PravegaClient.connect(inject('pravega').controllerUri),
    cleanup: () => undefined,
  };
}

export function embeddedBackend(): Backend {
  let dir: string | undefined;
  return {
    name: 'embedded',
    connect: () => {
      dir ??= mkdtempSync(join(tmpdir(), 'tributary-embedded-'));
      return PravegaClient.connect(`embedded:${dir}`);
    },
    cleanup: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

export const BACKENDS: readonly (() => Backend)[] = [realBackend, embeddedBackend];
