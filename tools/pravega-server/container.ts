import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../src/errors.js';
import {
  LOCAL_PRAVEGA_IMAGE,
  OFFICIAL_PRAVEGA_IMAGE,
  PravegaContainer,
} from '../../src/testing/index.js';
import { PRAVEGA_VERSION } from './jars.js';
import { DEFAULT_CREDENTIALS } from './security.js';
import type { PravegaServer, PravegaServerOptions } from './server.js';

/**
 * The test servers as containers (plain, auth, TLS) through PravegaContainer, for machines where a
 * container runtime answers. The image: TRIBUTARY_PRAVEGA_IMAGE if set, else the official image
 * if present, else the one `npm run pravega:image` builds.
 */

export async function containerRuntimeAnswers(): Promise<{ ok: boolean; reason: string }> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    const info = client.info.containerRuntime;
    const socket = process.env['DOCKER_HOST'] ?? info.remoteSocketPath;
    return {
      ok: true,
      reason: `container runtime ${socket} (server ${info.serverVersion}, ${info.operatingSystem}, ${info.runtimes.join('/')}) answered; published ports on ${info.host}`,
    };
  } catch (err) {
    return { ok: false, reason: errorMessage(err).split('\n')[0] ?? 'no container runtime' };
  }
}

/** The image to run, or undefined (with the reason) when none is available without building. */
export async function chooseImage(): Promise<{ image?: string; reason: string }> {
  const explicit = process.env['TRIBUTARY_PRAVEGA_IMAGE'];
  if (explicit) return { image: explicit, reason: `TRIBUTARY_PRAVEGA_IMAGE=${explicit}` };
  const { getContainerRuntimeClient, ImageName } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  for (const image of [OFFICIAL_PRAVEGA_IMAGE, LOCAL_PRAVEGA_IMAGE]) {
    if (await client.image.exists(ImageName.fromString(image))) {
      return { image, reason: `${image} is present` };
    }
  }
  return {
    reason: `neither ${OFFICIAL_PRAVEGA_IMAGE} nor ${LOCAL_PRAVEGA_IMAGE} is present (run \`npm run pravega:image\`)`,
  };
}

export async function startPravegaContainer(
  options: PravegaServerOptions,
  log: (line: string) => void,
  image: string,
): Promise<PravegaServer> {
  const credentials =
    options.auth === true ? DEFAULT_CREDENTIALS : options.auth === false ? undefined : options.auth;
  let container = new PravegaContainer(image).withHeapMb(options.heapMb ?? 1024);
  if (credentials) container = container.withAuth(credentials);
  if (options.tls) container = container.withTls();
  const started = await container.start();
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'tributary-pravega-container-'));
  let caCertFile: string | undefined;
  const ca = started.getCaCert();
  if (ca) {
    caCertFile = join(workDir, 'ca.pem');
    writeFileSync(caCertFile, ca);
  }
  const startSeconds = started.getStartSeconds();
  log(
    `Pravega ${PRAVEGA_VERSION} (container ${started.getId().slice(0, 12)} of ${image}${credentials ? ', auth' : ''}${options.tls ? ', TLS' : ''}) ready in ${startSeconds.toFixed(1)} s at ${started.getControllerUri()}`,
  );
  return {
    runtime: 'container',
    version: PRAVEGA_VERSION,
    controllerUri: started.getControllerUri(),
    controllerPort: started.getMappedPort(9090),
    segmentStorePort: started.getSegmentStoreAddress().port,
    ...(credentials ? { credentials } : {}),
    ...(caCertFile ? { caCertFile } : {}),
    workDir,
    logFile: `(docker logs ${started.getId().slice(0, 12)})`,
    startSeconds,
    residentMemoryBytes: () => undefined,
    stop: async () => {
      await started.stop();
      // only the CA file is in it, and only when it is ours
      if (options.workDir === undefined) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
