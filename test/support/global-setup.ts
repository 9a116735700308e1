import type { TestProject } from 'vitest/node';
import { startRealPravega, type PravegaServer } from '../../tools/pravega-server/index.js';
import type { ServerEndpoint } from './endpoints.js';

/**
 * Starts the real Pravega servers once per test run — plain, auth on, TLS on — hands their
 * endpoints to the tests (`inject('pravega')` …) and always stops them. TRIBUTARY_PRAVEGA_URI
 * points the plain suite at an existing server instead.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    pravega: ServerEndpoint;
    pravegaAuth: ServerEndpoint;
    pravegaTls: ServerEndpoint;
  }
}

function endpointOf(server: PravegaServer): ServerEndpoint {
  return {
    controllerUri: server.controllerUri,
    ...(server.credentials ? { credentials: server.credentials } : {}),
    ...(server.caCertFile ? { caCertFile: server.caCertFile } : {}),
    logFile: server.logFile,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[pravega] ${line}`);
  const servers: PravegaServer[] = [];
  const stopAll = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void stopAll().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const external = process.env['TRIBUTARY_PRAVEGA_URI'];
    const started = Date.now();
    const track = async (server: Promise<PravegaServer>) => {
      const s = await server;
      servers.push(s);
      return s;
    };
    const [plain, auth, tls] = await Promise.all([
      external ? Promise.resolve(undefined) : track(startRealPravega({ log, heapMb: 1536 })),
      track(startRealPravega({ log, auth: true, heapMb: 512 })),
      track(startRealPravega({ log, tls: true, heapMb: 512 })),
    ]);
    log(`servers ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const s of servers) {
      const rss = s.residentMemoryBytes();
      if (rss !== undefined)
        log(`${s.controllerUri}: resident memory ${(rss / 1048576).toFixed(0)} MiB`);
    }
    project.provide('pravega', plain ? endpointOf(plain) : { controllerUri: external ?? '' });
    project.provide('pravegaAuth', endpointOf(auth));
    project.provide('pravegaTls', endpointOf(tls));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return async () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    for (const s of servers) {
      const rss = s.residentMemoryBytes();
      if (rss !== undefined)
        log(`${s.controllerUri}: resident memory at the end ${(rss / 1048576).toFixed(0)} MiB`);
    }
    await stopAll();
  };
}
