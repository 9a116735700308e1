import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../src/errors.js';
import { PRAVEGA_VERSION } from './jars.js';
import { freePorts } from './ports.js';
import type { PravegaServer } from './server.js';

/**
 * The same server from the `pravega/pravega` image (`standalone`) through Testcontainers, for
 * machines where a container runtime answers. The segment store publishes its address to clients
 * (getURI), so it listens inside the container on the same port number the host maps it to.
 */

export async function containerRuntimeAnswers(): Promise<{ ok: boolean; reason: string }> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    return { ok: true, reason: `container runtime ${client.info.containerRuntime.host} answered` };
  } catch (err) {
    return { ok: false, reason: errorMessage(err).split('\n')[0] ?? 'no container runtime' };
  }
}

export async function startPravegaContainer(
  log: (line: string) => void,
  image = `pravega/pravega:${PRAVEGA_VERSION}`,
): Promise<PravegaServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const [controllerPort, segmentStorePort] = (await freePorts(2)) as [number, number];
  const started = Date.now();
  const container = await new GenericContainer(image)
    .withCommand(['standalone'])
    .withEnvironment({
      HOST_IP: '127.0.0.1',
      JAVA_OPTS: [
        `-Dsinglenode.controller.rpc.port=${controllerPort}`,
        `-Dsinglenode.segmentStore.port=${segmentStorePort}`,
        `-Dpravegaservice.service.published.host.nameOrIp=127.0.0.1`,
        `-Dpravegaservice.service.published.port=${segmentStorePort}`,
        '-Xmx1g',
      ].join(' '),
    })
    .withExposedPorts(
      { container: controllerPort, host: controllerPort },
      { container: segmentStorePort, host: segmentStorePort },
    )
    .withWaitStrategy(Wait.forLogMessage(/Pravega Sandbox is running locally now/))
    .withStartupTimeout(180_000)
    .start();
  const startSeconds = (Date.now() - started) / 1000;
  const controllerUri = `tcp://127.0.0.1:${controllerPort}`;
  log(
    `Pravega ${PRAVEGA_VERSION} (container ${image}) ready in ${startSeconds.toFixed(1)} s at ${controllerUri}`,
  );
  return {
    runtime: 'container',
    version: PRAVEGA_VERSION,
    controllerUri,
    controllerPort,
    segmentStorePort,
    workDir: mkdtempSync(join(tmpdir(), 'tributary-pravega-container-')),
    logFile: `(docker logs ${container.getId()})`,
    startSeconds,
    residentMemoryBytes: () => undefined,
    stop: async () => {
      await container.stop();
    },
  };
}
