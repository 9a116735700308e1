import { resolve } from 'node:path';
import { acquireClient } from '../pravega/client/client-registry.js';
import type { ClientConfig, PravegaClient } from '../pravega/client/pravega-client.js';

/**
 * Which Pravega a command talks to: `--controller`, else TRIBUTARY_CONTROLLER, else the embedded
 * store in ./.tributary-data. TRIBUTARY_USERNAME / TRIBUTARY_PASSWORD and TRIBUTARY_TRUSTED_CA
 * add credentials and a CA for a real cluster.
 */

export const CONTROLLER_ENV = 'TRIBUTARY_CONTROLLER';
export const DEFAULT_EMBEDDED_DIR = '.tributary-data';

export interface ControllerChoice {
  readonly config: ClientConfig;
  /** where the URI came from */
  readonly from: 'option' | 'environment' | 'default';
}

export function resolveController(
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ControllerChoice {
  const fromEnv = env[CONTROLLER_ENV];
  const [uri, from]: [string, ControllerChoice['from']] =
    option !== undefined && option !== ''
      ? [option, 'option']
      : fromEnv !== undefined && fromEnv !== ''
        ? [fromEnv, 'environment']
        : [`embedded:${resolve(DEFAULT_EMBEDDED_DIR)}`, 'default'];
  const username = env['TRIBUTARY_USERNAME'];
  const password = env['TRIBUTARY_PASSWORD'];
  const ca = env['TRIBUTARY_TRUSTED_CA'];
  const config: ClientConfig = {
    controllerUri: uri,
    ...(username !== undefined && username !== ''
      ? { credentials: { username, password: password ?? '' } }
      : {}),
    ...(ca !== undefined && ca !== '' ? { trustedCa: ca } : {}),
  };
  return { config, from };
}

/** Runs `fn` with a client of the chosen Pravega and always gives it back. */
export async function withClient<R>(
  choice: ControllerChoice,
  fn: (client: PravegaClient) => Promise<R>,
): Promise<R> {
  const shared = await acquireClient(choice.config);
  try {
    return await fn(shared.client);
  } finally {
    await shared.release();
  }
}
