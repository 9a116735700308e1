import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../src/errors.js';
import { freePort } from '../../src/testing/net.js';
import { readTail, spawnWatchedJvm } from '../pravega-server/watched-jvm.js';
import { ensureRegistryJars, REGISTRY_MAIN_CLASS, REGISTRY_VERSION } from './jars.js';

/**
 * Starts the Pravega schema registry (io.pravega:schemaregistry-server 0.2.0) as a child JVM on a
 * free port, in Pravega-backed mode (its groups live in table segments of scope `_schemaregistry`
 * on the given Pravega server) or in memory, waits until `GET /ping` answers 200 (the reference says /v1/ping; 0.2.0 serves it at the root) and stops it
 * again — also when the parent process dies (a small shell watches the parent's pipe).
 *
 * The registry's own Pravega client (0.9.0) talks to the controller URI it is given and then to
 * the segment store the controller names, so the same URI the tests use works: a local JVM server
 * (127.0.0.1), an external one (TRIBUTARY_PRAVEGA_URI) or a container, whose controller port and
 * segment-store address are published on the host (the container advertises the published host
 * and the same port number for its segment store).
 */

export interface RegistryServerOptions {
  /** `Pravega` (the default: needs controllerUri) or `InMemory` */
  readonly store?: 'Pravega' | 'InMemory';
  /** tcp://host:port of the Pravega controller (plain, no auth or TLS) */
  readonly controllerUri?: string;
  readonly heapMb?: number;
  readonly workDir?: string;
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface RegistryServer {
  /** http://127.0.0.1:port */
  readonly uri: string;
  readonly port: number;
  readonly store: 'Pravega' | 'InMemory';
  readonly logFile: string;
  readonly startSeconds: number;
  residentMemoryBytes(): number | undefined;
  stop(): Promise<void>;
}

async function pingStatus(uri: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${uri}/ping`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

export async function startRegistryServer(
  options: RegistryServerOptions = {},
): Promise<RegistryServer> {
  const log = options.log ?? (() => undefined);
  const store = options.store ?? 'Pravega';
  if (store === 'Pravega' && !/^tcp:\/\/[^/]+:\d+$/.test(options.controllerUri ?? '')) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `the schema registry's Pravega store needs a plain controller URI tcp://host:port, got '${options.controllerUri ?? ''}'`,
    );
  }
  const install = ensureRegistryJars({ log });
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'tributary-registry-'));
  const logFile = join(workDir, 'registry.log');
  const pidFile = join(workDir, 'registry.pid');
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const props: Record<string, string> = {
    'store.type.name': store,
    'service.rest.published.host.nameOrIp': '127.0.0.1',
    'service.rest.listener.port': String(port),
    'threadPool.size': '8',
    ...(store === 'Pravega'
      ? { 'store.pravega.controller.connect.uri': options.controllerUri! }
      : {}),
  };
  const jvmArgs = [
    `-Xmx${options.heapMb ?? 256}m`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    ...Object.entries(props).map(([k, v]) => `-DschemaRegistry.${k}=${v}`),
    '-cp',
    install.classpath,
    REGISTRY_MAIN_CLASS,
  ];
  const started = Date.now();
  const jvm = spawnWatchedJvm({
    name: 'registry-watchdog',
    java: install.java,
    jvmArgs,
    outFile: logFile,
    workDir,
    pidFile,
  });
  const stop = async (keepLogs = false): Promise<void> => {
    await jvm.stop(15_000);
    if (
      !keepLogs &&
      options.workDir === undefined &&
      process.env['TRIBUTARY_KEEP_LOGS'] === undefined
    ) {
      rmSync(workDir, { recursive: true, force: true });
    }
  };

  const timeoutMs = options.startTimeoutMs ?? 120_000;
  try {
    for (;;) {
      const exitCode = jvm.exitCode();
      if (exitCode !== undefined) {
        throw new TributaryError(
          'ENVIRONMENT',
          `the schema registry exited during start-up (exit code ${exitCode}); see ${logFile}. Last lines:\n${readTail(logFile)}`,
        );
      }
      if ((await pingStatus(uri)) === 200) break;
      if (Date.now() - started > timeoutMs) {
        const tail = readTail(logFile);
        throw new TributaryError(
          'ENVIRONMENT',
          `the schema registry did not answer GET ${uri}/ping within ${timeoutMs / 1000} s; see ${logFile}. Last lines:\n${tail}`,
        );
      }
      await sleep(250);
    }
  } catch (err) {
    // keep the log of a failed start: the error names it
    await stop(true).catch(() => undefined);
    throw err;
  }
  const startSeconds = (Date.now() - started) / 1000;
  log(
    `schema registry ${REGISTRY_VERSION} (local JVM, ${store} store${store === 'Pravega' ? ` on ${options.controllerUri}` : ''}, pid ${jvm.pid()}) ready in ${startSeconds.toFixed(1)} s at ${uri}`,
  );
  return {
    uri,
    port,
    store,
    logFile,
    startSeconds,
    residentMemoryBytes: () => jvm.residentMemoryBytes(),
    stop: () => stop(),
  };
}
