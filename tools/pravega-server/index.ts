import { errorMessage } from '../../src/errors.js';
import { chooseImage, containerRuntimeAnswers, startPravegaContainer } from './container.js';
import { startPravegaServer, type PravegaServer, type PravegaServerOptions } from './server.js';

export type { PravegaServer, PravegaServerOptions } from './server.js';
export { DEFAULT_CREDENTIALS, type Credentials } from './security.js';

export type RuntimeChoice = 'auto' | 'jvm' | 'container';

export interface RuntimeDecision {
  readonly runtime: 'jvm' | 'container';
  /** the image, for containers */
  readonly image?: string;
  readonly reason: string;
}

/**
 * Where the real Pravega servers run: TRIBUTARY_PRAVEGA_RUNTIME=jvm|container|auto (default auto).
 * auto = containers where a container runtime answers and a Pravega image is present (the
 * official one, or the one `npm run pravega:image` builds), the local JVM otherwise. `container`
 * fails with the reason when either is missing. The reason is returned, to be printed.
 */
export async function chooseRuntime(requested?: RuntimeChoice): Promise<RuntimeDecision> {
  const choice =
    requested ?? ((process.env['TRIBUTARY_PRAVEGA_RUNTIME'] ?? 'auto') as RuntimeChoice);
  if (!['auto', 'jvm', 'container'].includes(choice)) {
    throw new Error(`TRIBUTARY_PRAVEGA_RUNTIME must be jvm, container or auto; got ${choice}`);
  }
  if (choice === 'jvm') return { runtime: 'jvm', reason: 'TRIBUTARY_PRAVEGA_RUNTIME=jvm' };
  const probe = await containerRuntimeAnswers();
  if (!probe.ok) {
    if (choice === 'container') {
      throw new Error(`TRIBUTARY_PRAVEGA_RUNTIME=container but ${probe.reason}`);
    }
    return { runtime: 'jvm', reason: `no container runtime answered (${probe.reason})` };
  }
  const image = await chooseImage();
  if (image.image === undefined) {
    if (choice === 'container') {
      throw new Error(`TRIBUTARY_PRAVEGA_RUNTIME=container but ${image.reason}`);
    }
    return { runtime: 'jvm', reason: `${probe.reason}, but ${image.reason}` };
  }
  return { runtime: 'container', image: image.image, reason: `${probe.reason}; ${image.reason}` };
}

/**
 * Starts a real Pravega server where {@link chooseRuntime} says (or as `decision` says). A
 * container that does not start under `auto` falls back to the local JVM, saying so.
 */
export async function startRealPravega(
  options: PravegaServerOptions & { runtime?: RuntimeChoice; decision?: RuntimeDecision } = {},
): Promise<PravegaServer> {
  const log = options.log ?? ((line: string) => console.error(`[pravega] ${line}`));
  const decision = options.decision ?? (await chooseRuntime(options.runtime));
  if (decision.runtime === 'container' && decision.image !== undefined) {
    try {
      return await startPravegaContainer(options, log, decision.image);
    } catch (err) {
      const requested = options.runtime ?? process.env['TRIBUTARY_PRAVEGA_RUNTIME'] ?? 'auto';
      if (requested === 'container') throw err;
      log(`the container did not start (${errorMessage(err)}); falling back to the local JVM`);
    }
  }
  return startPravegaServer(options);
}
