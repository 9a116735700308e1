import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbstractStartedContainer,
  GenericContainer,
  getContainerRuntimeClient,
  Wait,
  type StartedTestContainer,
} from 'testcontainers';
import { errorMessage, TributaryError } from '../errors.js';
import { GrpcController } from '../pravega/controller/grpc-controller.js';
import { containerLabels } from './container-labels.js';
import { freePort, tcpReachable } from './net.js';
import {
  checkCredentials,
  DEFAULT_CREDENTIALS,
  passwordFile,
  type Credentials,
} from './password-file.js';
import { OFFICIAL_PRAVEGA_IMAGE } from './pravega-image.js';
import { createTlsMaterial, TLS_STORE_PASSWORD, type TlsMaterial } from './tls-material.js';

/**
 * A Pravega standalone server in a container, for testing jobs against the real thing (in the
 * style of @testcontainers/kafka's KafkaContainer):
 *
 *   const pravega = await new PravegaContainer().withAuth().withTls().start();
 *   const client = await PravegaClient.connect(pravega.getClientConfig());
 *
 * Runs the official `pravega/pravega` image by default, or any image laid out like it
 * (`/opt/pravega/bin/pravega-standalone` honouring JAVA_OPTS), such as the one this repository's
 * `npm run pravega:image` builds. Server settings go in as JAVA_OPTS, so both images behave the
 * same. The segment store tells clients its address, so it listens inside the container on the
 * port number it is published on. Auth (a password file hashed here) and TLS (a throw-away CA made
 * with `openssl`) are copied into the container. Containers are labelled with the test run and
 * its owner process (see container-labels.ts) so none is left behind.
 */

const CONTROLLER_PORT = 9090;
const READY_LINE = /Pravega Sandbox is running locally now/;
const CONFIG_DIR = '/tmp/tributary';
const DATA_DIR = '/tmp/pravega-data';
const PORT_ATTEMPTS = 3;
const STANDALONE = '/opt/pravega/bin/pravega-standalone';
// The server opens its trust store as a Java key store holding the CA as a trusted entry, which
// openssl cannot write: the image's own keytool makes it before the server starts.
const TRUST_STORE_THEN_SERVER = [
  `"\${JAVA_HOME:+$JAVA_HOME/bin/}keytool" -importcert -noprompt -alias ca -file ${CONFIG_DIR}/ca.pem`,
  `-keystore ${CONFIG_DIR}/truststore.jks -storetype JKS -storepass ${TLS_STORE_PASSWORD} >/dev/null`,
  `&& exec ${STANDALONE}`,
].join(' ');

export class PravegaContainer extends GenericContainer {
  private credentials: Credentials | undefined;
  private tls = false;
  private heapMb = 1024;
  private readyTimeoutMs = 300_000;
  private readonly extraJavaOpts: string[] = [];

  constructor(image: string = OFFICIAL_PRAVEGA_IMAGE) {
    super(image);
  }

  /** Turns on password authentication; the default account is admin / 1111_aaaa. */
  withAuth(credentials: Credentials = DEFAULT_CREDENTIALS): this {
    checkCredentials(credentials);
    this.credentials = { username: credentials.username, password: credentials.password };
    return this;
  }

  /** Serves the controller and the segment store over TLS with a certificate from a new test CA. */
  withTls(): this {
    this.tls = true;
    return this;
  }

  /** The server's JVM heap (default 1024 MiB). */
  withHeapMb(heapMb: number): this {
    if (!Number.isInteger(heapMb) || heapMb < 256) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `heapMb must be an integer of at least 256 (MiB); got ${heapMb}`,
      );
    }
    this.heapMb = heapMb;
    return this;
  }

  /** More JVM options (`-D<key>=<value>` server settings among them); no blanks inside one. */
  withJavaOpts(...options: string[]): this {
    for (const option of options) {
      if (option === '' || /\s/.test(option)) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `each Java option must be one non-empty word (JAVA_OPTS is split on blanks); got ${JSON.stringify(option)}`,
        );
      }
    }
    this.extraJavaOpts.push(...options);
    return this;
  }

  /** How long start() waits for the server to answer (default 300 s). */
  withReadyTimeout(ms: number): this {
    if (!(ms > 0)) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `readyTimeoutMs must be > 0; got ${ms}`);
    }
    this.readyTimeoutMs = ms;
    return this;
  }

  override async start(): Promise<StartedPravegaContainer> {
    const started = Date.now();
    const runtime = await getContainerRuntimeClient();
    const runtimeHost = runtime.info.containerRuntime.host;
    // where clients reach the published ports; the segment store announces this address
    const local = runtimeHost === 'localhost' || runtimeHost === '127.0.0.1';
    const publishedHost = local ? '127.0.0.1' : runtimeHost;
    const material = this.tls ? createTlsMaterial(local ? [] : [runtimeHost]) : undefined;
    this.copyConfiguration(material);
    this.withCommand([])
      .withEntrypoint(material ? ['/bin/sh', '-c', TRUST_STORE_THEN_SERVER] : [STANDALONE])
      // the in-process ZooKeeper's write-ahead log and snapshots: in memory, as fsyncs on the
      // container's overlay file system cost seconds on a busy disk
      .withTmpFs({ [DATA_DIR]: 'rw,size=512m' })
      .withWaitStrategy(Wait.forLogMessage(READY_LINE))
      .withStartupTimeout(this.readyTimeoutMs);

    for (let attempt = 1; ; attempt++) {
      const segmentStorePort = await freePort();
      const instance = randomBytes(6).toString('hex');
      this.exposedPorts = [];
      this.withLabels({ ...containerLabels(), 'tributary.testing.instance': instance })
        .withEnvironment({
          HOST_IP: publishedHost,
          JAVA_OPTS: this.javaOpts(publishedHost, segmentStorePort, material).join(' '),
        })
        .withExposedPorts(CONTROLLER_PORT, { container: segmentStorePort, host: segmentStorePort });
      const tail: string[] = [];
      this.withLogConsumer((stream) => {
        let partial = '';
        stream.on('data', (chunk: Buffer | string) => {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop() ?? '';
          tail.push(...lines);
          tail.splice(0, Math.max(0, tail.length - 40));
        });
      });
      let container: StartedTestContainer;
      try {
        container = await super.start();
      } catch (err) {
        await removeInstance(instance);
        const logs = tail.join('\n');
        const message = errorMessage(err);
        if (/already allocated|address already in use/i.test(message) && attempt < PORT_ATTEMPTS) {
          continue;
        }
        throw new TributaryError(
          'ENVIRONMENT',
          `the Pravega container (${this.imageName.string}) did not start: ${message}${logs ? `\nLast log lines:\n${logs}` : ''}`,
          { cause: err },
        );
      }
      const host = this.tls && local ? 'localhost' : publishedHost;
      const controllerUri = `${this.tls ? 'tls' : 'tcp'}://${host}:${container.getMappedPort(CONTROLLER_PORT)}`;
      const startedContainer = new StartedPravegaContainer(container, {
        controllerUri,
        segmentStoreAddress: { host: publishedHost, port: segmentStorePort },
        ...(this.credentials ? { credentials: this.credentials } : {}),
        ...(material ? { caCert: material.caCert } : {}),
        startedAt: started,
      });
      try {
        await startedContainer.waitUntilServing(started + this.readyTimeoutMs);
      } catch (err) {
        await startedContainer.stop().catch(() => undefined);
        throw err;
      }
      return startedContainer;
    }
  }

  private javaOpts(
    publishedHost: string,
    segmentStorePort: number,
    material?: TlsMaterial,
  ): string[] {
    const opts = [
      `-Xmx${this.heapMb}m`,
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.net.preferIPv4Stack=true',
      `-Djava.io.tmpdir=${DATA_DIR}`,
      `-Dsinglenode.controller.rpc.port=${CONTROLLER_PORT}`,
      `-Dsinglenode.segmentStore.port=${segmentStorePort}`,
      '-Dsinglenode.zk.port=2181',
      '-Dpravegaservice.service.listener.host.nameOrIp=0.0.0.0',
      `-Dpravegaservice.service.published.host.nameOrIp=${publishedHost}`,
      `-Dpravegaservice.service.published.port=${segmentStorePort}`,
      // as on the local JVM: the storage writer flushes each segment after 1 s, not 30 s, so an
      // exactly-once job at full speed does not fill the standalone's 128 MiB cache
      '-Dwriter.flush.threshold.milliseconds=1000',
    ];
    if (this.credentials) {
      opts.push(
        '-Dsinglenode.security.auth.enable=true',
        `-Dsinglenode.security.auth.pwdAuthHandler.accountsDb.location=${CONFIG_DIR}/passwd`,
        `-Dsinglenode.security.auth.credentials.username=${this.credentials.username}`,
        `-Dsinglenode.security.auth.credentials.pwd=${this.credentials.password}`,
      );
    }
    if (material) {
      opts.push(
        '-Dsinglenode.security.tls.enable=true',
        '-Dsinglenode.security.tls.protocolVersion=TLSv1.2,TLSv1.3',
        `-Dsinglenode.security.tls.certificate.location=${CONFIG_DIR}/server.pem`,
        `-Dsinglenode.security.tls.privateKey.location=${CONFIG_DIR}/server.key`,
        `-Dsinglenode.security.tls.keyStore.location=${CONFIG_DIR}/server.jks`,
        `-Dsinglenode.security.tls.keyStore.pwd.location=${CONFIG_DIR}/keystore.pwd`,
        `-Dsinglenode.security.tls.trustStore.location=${CONFIG_DIR}/truststore.jks`,
      );
    }
    return [...opts, ...this.extraJavaOpts];
  }

  private copyConfiguration(material: TlsMaterial | undefined): void {
    const contents: { content: string | Buffer; target: string }[] = [];
    if (this.credentials) {
      contents.push({ content: passwordFile([this.credentials]), target: `${CONFIG_DIR}/passwd` });
    }
    if (material) {
      contents.push(
        { content: material.serverCert, target: `${CONFIG_DIR}/server.pem` },
        { content: material.serverKey, target: `${CONFIG_DIR}/server.key` },
        // PKCS#12 bytes under a .jks name: ZooKeeper picks the store type by extension, and
        // Java's JKS type reads PKCS#12 files
        { content: material.keyStore, target: `${CONFIG_DIR}/server.jks` },
        { content: TLS_STORE_PASSWORD, target: `${CONFIG_DIR}/keystore.pwd` },
        { content: material.caCert, target: `${CONFIG_DIR}/ca.pem` },
      );
    }
    this.contentsToCopy = contents;
  }
}

/** Removes a container that failed to start (if Testcontainers left it). */
async function removeInstance(instance: string): Promise<void> {
  try {
    const docker = (await getContainerRuntimeClient()).container.dockerode;
    const found = await docker.listContainers({
      all: true,
      filters: { label: [`tributary.testing.instance=${instance}`] },
    });
    for (const c of found) await docker.getContainer(c.Id).remove({ force: true, v: true });
  } catch {
    // nothing left to remove
  }
}

interface StartedDetails {
  readonly controllerUri: string;
  readonly segmentStoreAddress: { readonly host: string; readonly port: number };
  readonly credentials?: Credentials;
  readonly caCert?: string;
  readonly startedAt: number;
}

/** What PravegaClient.connect and job options need to reach the server. */
export type PravegaConnection = {
  readonly controllerUri: string;
  readonly credentials?: Credentials;
  /** PEM of the CA that signed the server certificate (TLS only) */
  readonly trustedCa?: string;
};

export class StartedPravegaContainer extends AbstractStartedContainer {
  private readySeconds: number | undefined;

  constructor(
    container: StartedTestContainer,
    private readonly details: StartedDetails,
  ) {
    super(container);
  }

  /** tcp://host:port, or tls://localhost:port with TLS */
  getControllerUri(): string {
    return this.details.controllerUri;
  }

  getCredentials(): Credentials | undefined {
    return this.details.credentials;
  }

  /** Where clients reach the segment store (the address the server announces). */
  getSegmentStoreAddress(): { readonly host: string; readonly port: number } {
    return this.details.segmentStoreAddress;
  }

  /** PEM of the test CA clients trust (TLS only). */
  getCaCert(): string | undefined {
    return this.details.caCert;
  }

  /** controllerUri, credentials and trustedCa, ready for PravegaClient.connect(). */
  getClientConfig(): PravegaConnection {
    return {
      controllerUri: this.details.controllerUri,
      ...(this.details.credentials ? { credentials: this.details.credentials } : {}),
      ...(this.details.caCert ? { trustedCa: this.details.caCert } : {}),
    };
  }

  /** Seconds from start() to a server that answers (container creation included). */
  getStartSeconds(): number {
    return this.readySeconds ?? Number.NaN;
  }

  /** @internal waits until the controller answers a call and the segment store accepts connections */
  async waitUntilServing(deadline: number): Promise<void> {
    const controller = new GrpcController({
      uri: this.details.controllerUri,
      ...(this.details.credentials ? { credentials: this.details.credentials } : {}),
      ...(this.details.caCert ? { trustedCa: this.details.caCert } : {}),
      callTimeoutMs: 5_000,
      retry: { maxAttempts: 1, initialBackoffMs: 100, maxBackoffMs: 100 },
    });
    let lastError: string;
    try {
      for (;;) {
        try {
          await controller.scopeExists('_system');
          const { host, port } = this.details.segmentStoreAddress;
          if (await tcpReachable(host, port)) break;
          lastError = `the segment store at ${host}:${port} refuses connections`;
        } catch (err) {
          if (TributaryError.is(err, 'AUTH_FAILED')) throw err;
          lastError = errorMessage(err);
        }
        if (Date.now() > deadline) {
          throw new TributaryError(
            'TIMEOUT',
            `the Pravega container logged it was ready, but its controller at ${this.details.controllerUri} did not answer before the deadline: ${lastError}`,
          );
        }
        await sleep(250);
      }
    } finally {
      await controller.close();
    }
    this.readySeconds = (Date.now() - this.details.startedAt) / 1000;
  }
}
