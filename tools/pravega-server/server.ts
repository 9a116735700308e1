import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../src/errors.js';
import { readTail, spawnWatchedJvm } from './watched-jvm.js';
import { GrpcController } from '../../src/pravega/controller/grpc-controller.js';
import { ensurePravegaJars, PRAVEGA_VERSION } from './jars.js';
import { freePorts, tcpReachable } from '../../src/testing/net.js';
import {
  DEFAULT_CREDENTIALS,
  writePasswordFile,
  writeTlsMaterial,
  type Credentials,
} from './security.js';

/**
 * Starts a real Pravega standalone server (io.pravega.local.LocalPravegaEmulator: in-process
 * ZooKeeper, one controller, one segment store, in-memory storage) as a child JVM on free ports,
 * waits until the controller's gRPC API answers and the segment store accepts connections, and
 * stops it again — also when the parent process dies (the JVM is watched by a small shell that
 * stops it once the parent's pipe closes).
 */

export interface PravegaServerOptions {
  /** true = the default admin user; or explicit credentials */
  readonly auth?: boolean | Credentials;
  readonly tls?: boolean;
  /** JVM heap in MiB (default 1024) */
  readonly heapMb?: number;
  /** where config and logs go (default: a new temp dir) */
  readonly workDir?: string;
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface PravegaServer {
  readonly runtime: 'jvm' | 'container';
  readonly version: string;
  /** tcp://127.0.0.1:port or tls://localhost:port */
  readonly controllerUri: string;
  readonly controllerPort: number;
  readonly segmentStorePort: number;
  readonly credentials?: Credentials;
  /** PEM file of the CA that signed the server certificate (TLS variant) */
  readonly caCertFile?: string;
  readonly workDir: string;
  readonly logFile: string;
  readonly startSeconds: number;
  readonly javaMajor?: number;
  readonly download?: { readonly seconds: number; readonly bytes: number };
  /** resident memory of the server process, if known */
  residentMemoryBytes(): number | undefined;
  stop(): Promise<void>;
}

const READY_LINE = 'Pravega Sandbox is running locally now';

function logbackXml(logFile: string): string {
  return `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${logFile}</file>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <logger name="io.pravega.local" level="INFO"/>
  <root level="WARN"><appender-ref ref="FILE"/></root>
</configuration>
`;
}

class PortClash extends Error {}

export async function startPravegaServer(
  options: PravegaServerOptions = {},
): Promise<PravegaServer> {
  const log = options.log ?? ((line: string) => console.error(`[pravega] ${line}`));
  const install = ensurePravegaJars({ log });
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'tributary-pravega-'));
  mkdirSync(workDir, { recursive: true });
  const credentials =
    options.auth === true ? DEFAULT_CREDENTIALS : options.auth === false ? undefined : options.auth;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, log, install, workDir, credentials);
    } catch (err) {
      if (err instanceof PortClash && attempt < 4) {
        log(`port clash (${err.message}); retrying with other ports`);
        continue;
      }
      throw err;
    }
  }
}

async function startOnce(
  options: PravegaServerOptions,
  log: (line: string) => void,
  install: ReturnType<typeof ensurePravegaJars>,
  workDir: string,
  credentials: Credentials | undefined,
): Promise<PravegaServer> {
  const [controllerPort, segmentStorePort, zkPort, restPort, adminPort, segmentStoreRestPort] =
    (await freePorts(6)) as [number, number, number, number, number, number];
  const logFile = join(workDir, 'server.log');
  const outFile = join(workDir, 'server.out');
  const pidFile = join(workDir, 'server.pid');
  writeFileSync(join(workDir, 'logback.xml'), logbackXml(logFile));
  writeFileSync(logFile, '');

  const props: Record<string, string> = {
    'singlenode.controller.rpc.port': String(controllerPort),
    'singlenode.segmentStore.port': String(segmentStorePort),
    'singlenode.zk.port': String(zkPort),
    'singlenode.controller.rest.enable': 'true',
    'singlenode.controller.rest.port': String(restPort),
    'singlenode.admin.gateway.enable': 'true',
    'singlenode.admin.gateway.port': String(adminPort),
    'pravegaservice.rest.listener.port': String(segmentStoreRestPort),
    'singlenode.metrics.enable': 'false',
  };
  let caCertFile: string | undefined;
  if (credentials) {
    const passwd = writePasswordFile(join(workDir, 'auth'), install.java, install.classpath, [
      credentials,
    ]);
    Object.assign(props, {
      'singlenode.security.auth.enable': 'true',
      'singlenode.security.auth.pwdAuthHandler.accountsDb.location': passwd,
      'singlenode.security.auth.credentials.username': credentials.username,
      'singlenode.security.auth.credentials.pwd': credentials.password,
    });
  }
  if (options.tls) {
    const tls = writeTlsMaterial(join(workDir, 'tls'));
    caCertFile = tls.caCert;
    Object.assign(props, {
      'singlenode.security.tls.enable': 'true',
      'singlenode.security.tls.protocolVersion': 'TLSv1.2,TLSv1.3',
      'singlenode.security.tls.certificate.location': tls.serverCert,
      'singlenode.security.tls.privateKey.location': tls.serverKey,
      'singlenode.security.tls.keyStore.location': tls.keyStore,
      'singlenode.security.tls.keyStore.pwd.location': tls.keyStorePasswordFile,
      'singlenode.security.tls.trustStore.location': tls.trustStore,
    });
  }
  const propsFile = join(workDir, 'standalone.properties');
  writeFileSync(
    propsFile,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );

  const heapMb = options.heapMb ?? 1024;
  const jvmArgs = [
    `-Xmx${heapMb}m`,
    '-Xms256m',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.net.preferIPv4Stack=true',
    `-Dsinglenode.configurationFile=${propsFile}`,
    `-Dlogback.configurationFile=${join(workDir, 'logback.xml')}`,
    `-Djava.io.tmpdir=${workDir}`,
    // The standalone's segment-store cache is fixed at 128 MiB, and its storage writer flushes a
    // segment only after 4 MiB or 30 s. Transaction segments rarely reach 4 MiB, so an
    // exactly-once job at full speed filled the cache: the server throttled appends for 25 s and
    // then failed the segment container (seen in bench/job.ts). Flushing after 1 s keeps up.
    '-Dwriter.flush.threshold.milliseconds=1000',
    // extra JVM flags, e.g. GC logging: TRIBUTARY_PRAVEGA_JVM_OPTS='-Xlog:gc:file=/tmp/gc.log'
    ...(process.env['TRIBUTARY_PRAVEGA_JVM_OPTS'] ?? '').split(/\s+/).filter((a) => a !== ''),
    '-cp',
    install.classpath,
    'io.pravega.local.LocalPravegaEmulator',
  ];
  const started = Date.now();
  const jvm = spawnWatchedJvm({
    name: 'pravega-watchdog',
    java: install.java,
    jvmArgs,
    outFile,
    workDir,
    pidFile,
  });
  const stop = (): Promise<void> => jvm.stop(20_000);

  const timeoutMs = options.startTimeoutMs ?? 180_000;
  const scheme = options.tls ? 'tls' : 'tcp';
  const host = options.tls ? 'localhost' : '127.0.0.1';
  const controllerUri = `${scheme}://${host}:${controllerPort}`;
  const controller = new GrpcController({
    uri: controllerUri,
    ...(credentials ? { credentials } : {}),
    ...(caCertFile ? { trustedCa: readFileSync(caCertFile) } : {}),
    callTimeoutMs: 5_000,
    retry: { maxAttempts: 1, initialBackoffMs: 100, maxBackoffMs: 100 },
  });
  try {
    let sawReadyLine = false;
    for (;;) {
      const exitCode = jvm.exitCode();
      if (exitCode !== undefined) {
        const tail = `${readTail(outFile)}\n${readTail(logFile)}`;
        if (/Address already in use|BindException/.test(tail))
          throw new PortClash('address in use');
        throw new TributaryError(
          'ENVIRONMENT',
          `the Pravega server exited during start-up (exit code ${exitCode}); see ${outFile} and ${logFile}. Last lines:\n${tail.trim()}`,
        );
      }
      if (Date.now() - started > timeoutMs) {
        await stop();
        throw new TributaryError(
          'ENVIRONMENT',
          `the Pravega server did not become ready within ${timeoutMs / 1000} s; see ${logFile}. Last lines:\n${readTail(logFile)}`,
        );
      }
      const logText = readFileSync(logFile, 'utf8');
      if (/Address already in use|BindException/.test(logText)) {
        throw new PortClash('a listener could not bind its port');
      }
      sawReadyLine ||= logText.includes(READY_LINE);
      if (sawReadyLine) {
        try {
          await controller.scopeExists('_system');
          if (await tcpReachable('127.0.0.1', segmentStorePort)) break;
        } catch (err) {
          if (TributaryError.is(err, 'AUTH_FAILED')) throw err;
          // not answering yet
        }
      }
      await sleep(250);
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await controller.close();
  }
  const startSeconds = (Date.now() - started) / 1000;
  const pid = jvm.pid();
  log(
    `Pravega ${PRAVEGA_VERSION} (local JVM, Java ${install.javaMajor}, pid ${pid}) ready in ${startSeconds.toFixed(1)} s at ${controllerUri}`,
  );
  return {
    runtime: 'jvm',
    version: PRAVEGA_VERSION,
    controllerUri,
    controllerPort,
    segmentStorePort,
    ...(credentials ? { credentials } : {}),
    ...(caCertFile ? { caCertFile } : {}),
    workDir,
    logFile,
    startSeconds,
    javaMajor: install.javaMajor,
    ...(install.download ? { download: install.download } : {}),
    residentMemoryBytes: () => jvm.residentMemoryBytes(),
    stop,
  };
}
