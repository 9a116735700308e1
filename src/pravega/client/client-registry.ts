import { resolve } from 'node:path';
import { TributaryError } from '../../errors.js';
import { PravegaClient, type ClientConfig } from './pravega-client.js';

/**
 * Clients shared within a process, per configuration, reference-counted. Sources and sinks of a
 * job (and their parallel subtasks) share one client — which the embedded store needs, since one
 * process owns its directory — and the last release closes it.
 */

interface Entry {
  readonly client: Promise<PravegaClient>;
  refs: number;
}

const entries = new Map<string, Entry>();

export interface SharedClient {
  readonly client: PravegaClient;
  /** Gives the client back; closes it when nobody else holds it. Call once. */
  release(): Promise<void>;
}

function normalise(config: unknown): ClientConfig {
  if (typeof config === 'string') return { controllerUri: config };
  if (typeof config === 'object' && config !== null) return config as ClientConfig;
  throw new TributaryError(
    'CONFIG_INVALID',
    "no Pravega connection: set the job option 'pravega' (e.g. 'embedded:./data' or 'tcp://localhost:9090') or give the connector its own",
  );
}

function keyOf(config: ClientConfig): string {
  const uri = config.controllerUri.startsWith('embedded:')
    ? `embedded:${resolve(config.controllerUri.slice('embedded:'.length))}`
    : config.controllerUri;
  return JSON.stringify({ ...config, controllerUri: uri });
}

export async function acquireClient(config: unknown): Promise<SharedClient> {
  const normalised = normalise(config);
  const key = keyOf(normalised);
  let entry = entries.get(key);
  if (
    entry &&
    (await entry.client.then(
      (c) => c.isClosed,
      () => true,
    ))
  ) {
    // closed behind the registry's back (or failed): start over
    if (entries.get(key) === entry) entries.delete(key);
    entry = entries.get(key);
  }
  if (!entry) {
    const created: Entry = { client: PravegaClient.connect(normalised), refs: 0 };
    entries.set(key, created);
    created.client.catch(() => {
      if (entries.get(key) === created) entries.delete(key);
    });
    entry = created;
  }
  entry.refs++;
  const current = entry;
  let client: PravegaClient;
  try {
    client = await current.client;
  } catch (err) {
    current.refs--;
    throw err;
  }
  let released = false;
  return {
    client,
    release: async () => {
      if (released) return;
      released = true;
      if (--current.refs === 0 && entries.get(key) === current) {
        entries.delete(key);
        await client.close();
      }
    },
  };
}
