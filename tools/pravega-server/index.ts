import { errorMessage } from '../../src/errors.js';
import { containerRuntimeAnswers, startPravegaContainer } from './container.js';
import { startPravegaServer, type PravegaServer, type PravegaServerOptions } from './server.js';

export type { PravegaServer, PravegaServerOptions } from './server.js';
export { DEFAULT_CREDENTIALS, type Credentials } from './security.js';

export type RuntimeChoice = 'auto' | 'jvm' | 'container';

/**
 * Starts a real Pravega server where it can run: a container where a container runtime answers
 * (plain variant only), the local JVM otherwise. TRIBUTARY_PRAVEGA_RUNTIME=jvm|container|auto
 * forces the choice. The choice and its reason are logged, never silent.
 */
export async function startRealPravega(
  options: PravegaServerOptions & { runtime?: RuntimeChoice } = {},
): Promise<PravegaServer> {
  const log = options.log ?? ((line: string) => console.error(`[pravega] ${line}`));
  const requested = (options.runtime ??
    process.env['TRIBUTARY_PRAVEGA_RUNTIME'] ??
    'auto') as RuntimeChoice;
  const variant = options.auth || options.tls;
  if (requested === 'container' || (requested === 'auto' && !variant)) {
    const probe = await containerRuntimeAnswers();
    if (probe.ok) {
      log(`using Testcontainers: ${probe.reason}`);
      try {
        return await startPravegaContainer(log);
      } catch (err) {
        if (requested === 'container') throw err;
        log(`the container did not start (${errorMessage(err)}); falling back to the local JVM`);
      }
    } else if (requested === 'container') {
      throw new Error(`TRIBUTARY_PRAVEGA_RUNTIME=container but ${probe.reason}`);
    } else {
      log(`no container runtime answered (${probe.reason}); using the local JVM`);
    }
  } else if (variant && requested !== 'jvm') {
    log('auth/TLS variant: using the local JVM (the container variant runs the plain server only)');
  }
  return startPravegaServer(options);
}
