import type { Controller } from '../controller/controller.js';
import type { StreamId } from '../controller/types.js';

/**
 * Delegation tokens per stream, fetched from the controller and refreshed before they expire, or
 * when the segment store says one expired. A token that is a JWT with an `exp` claim is refreshed
 * once half of its remaining life has passed (the server's tokens live 600 s by default); any
 * token at the latest after `refreshAfterMs`. With auth off the controller hands out '' and every
 * token is accepted.
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: Promise<string>; refreshAt: number }>();

  constructor(
    private readonly controller: Controller,
    private readonly refreshAfterMs = 300_000,
  ) {}

  get(stream: StreamId): Promise<string> {
    const key = `${stream.scope}/${stream.stream}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const fetchedAt = Date.now();
    const token = this.controller.getDelegationToken(stream, 'readWrite');
    const entry = { token, refreshAt: fetchedAt + this.refreshAfterMs };
    this.tokens.set(key, entry);
    token.then(
      (value) => {
        const expiresAt = jwtExpiry(value);
        if (expiresAt !== undefined) {
          entry.refreshAt = Math.min(entry.refreshAt, fetchedAt + (expiresAt - fetchedAt) / 2);
        }
      },
      () => {
        if (this.tokens.get(key) === entry) this.tokens.delete(key);
      },
    );
    return token;
  }

  invalidate(stream: StreamId): void {
    this.tokens.delete(`${stream.scope}/${stream.stream}`);
  }
}

/** When a JWT expires (ms since the epoch), if `token` is one with an `exp` claim. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof claims !== 'object' || claims === null) return undefined;
    const exp = (claims as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
