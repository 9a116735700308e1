import type { TestProject } from 'vitest/node';
import {
  claimTestRun,
  removeLeftoverContainers,
  removeRunContainers,
} from '../../src/testing/index.js';
import {
  chooseRuntime,
  startRealPravega,
  type PravegaServer,
} from '../../tools/pravega-server/index.js';
import { startRegistryServer, type RegistryServer } from '../../tools/schema-registry/index.js';
import type { ServerEndpoint } from './endpoints.js';

/**
 * Starts the real Pravega servers once per test run — plain, auth on, TLS on — hands their
 * endpoints to the tests (`inject('pravega')` …) and always stops them. TRIBUTARY_PRAVEGA_URI
 * points the plain suite at an existing server instead. Where the servers are containers, this
 * run claims a run id that labels every container it or its workers start: leftovers of runs that
 * died earlier are removed first, and all of this run's containers at the end.
 * TRIBUTARY_TEST_PLAIN_ONLY=1 (with TRIBUTARY_PRAVEGA_URI, for a developer running a few tests
 * against a shared server) starts nothing else: the auth, TLS and registry endpoints are empty and
 * the tests that need them fail.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    pravega: ServerEndpoint;
    pravegaAuth: ServerEndpoint;
    pravegaTls: ServerEndpoint;
    /** the Pravega image the servers run, or '' when they are local JVMs */
    pravegaImage: string;
    /** the schema registry (a local JVM, Pravega-backed on the plain server) */
    schemaRegistry: { uri: string; logFile: string };
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
  const decision = await chooseRuntime();
  log(
    `servers run as ${decision.runtime === 'container' ? `containers of ${decision.image}` : 'local JVMs'}: ${decision.reason}`,
  );
  let run: string | undefined;
  if (decision.runtime === 'container') {
    run = claimTestRun();
    // the tests' own containers (PravegaContainer tests) use the same image
    process.env['TRIBUTARY_PRAVEGA_IMAGE'] = decision.image;
    const leftovers = await removeLeftoverContainers();
    log(
      `test run ${run}; removed ${leftovers.length} container(s) left by dead runs${leftovers.map((c) => ` ${c.id} (run ${c.run})`).join(',')}`,
    );
  }
  const servers: PravegaServer[] = [];
  let registry: RegistryServer | undefined;
  const stopAll = async () => {
    // the registry first: it is a client of the plain server
    await registry?.stop().catch(() => undefined);
    await Promise.allSettled(servers.map((s) => s.stop()));
    if (run !== undefined) {
      const removed = await removeRunContainers(run);
      log(`removed ${removed.length} container(s) of test run ${run} still there at the end`);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void stopAll().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const external = process.env['TRIBUTARY_PRAVEGA_URI'];
    if (external && process.env['TRIBUTARY_TEST_PLAIN_ONLY'] === '1') {
      log(`plain server only: ${external} (TRIBUTARY_TEST_PLAIN_ONLY=1)`);
      const none = { controllerUri: '' };
      project.provide('pravega', { controllerUri: external });
      project.provide('pravegaAuth', none);
      project.provide('pravegaTls', none);
      project.provide('pravegaImage', '');
      project.provide('schemaRegistry', { uri: '', logFile: '' });
      return () => {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        return Promise.resolve();
      };
    }
    const started = Date.now();
    const track = async (server: Promise<PravegaServer>) => {
      const s = await server;
      servers.push(s);
      return s;
    };
    const [plain, auth, tls] = await Promise.all([
      external
        ? Promise.resolve(undefined)
        : track(startRealPravega({ log, heapMb: 1536, decision })),
      track(startRealPravega({ log, auth: true, heapMb: 512, decision })),
      track(startRealPravega({ log, tls: true, heapMb: 512, decision })),
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
    project.provide('pravegaImage', decision.image ?? '');
    // the schema registry keeps its groups on the plain server (a container's controller port and
    // segment store are published on the host, so the registry JVM reaches them like the tests do)
    const plainUri = plain ? plain.controllerUri : (external ?? '');
    registry = await startRegistryServer({
      store: 'Pravega',
      controllerUri: plainUri,
      log: (line) => console.log(`[registry] ${line}`),
    });
    project.provide('schemaRegistry', { uri: registry.uri, logFile: registry.logFile });
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
    const registryRss = registry?.residentMemoryBytes();
    if (registryRss !== undefined)
      log(`schema registry: resident memory at the end ${(registryRss / 1048576).toFixed(0)} MiB`);
    await stopAll();
  };
}
