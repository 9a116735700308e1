import { randomBytes } from 'node:crypto';

/** What a test needs to reach one real Pravega server. */
export interface ServerEndpoint {
  readonly controllerUri: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly caCertFile?: string;
  readonly logFile?: string;
}

/** A fresh random scope name per test, so tests never see each other's streams. */
export function randomScope(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
