import type { Controller } from '../controller/controller.js';
import type { StreamId } from '../controller/types.js';

/**
 * Delegation tokens per stream, fetched from the controller and refreshed before they expire
 * (the server's tokens live 600 s by default) or when the segment store says one expired.
 * With auth off the controller hands out '' and every token is accepted.
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: Promise<string>; fetchedAt: number }>();

  constructor(
    private readonly controller: Controller,
    private readonly refreshAfterMs = 300_000,
  ) {}

  get(stream: StreamId): Promise<string> {
    const key = `${stream.scope}/${stream.stream}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() - cached.fetchedAt < this.refreshAfterMs) return cached.token;
    const token = this.controller.getDelegationToken(stream, 'readWrite');
    const entry = { token, fetchedAt: Date.now() };
    this.tokens.set(key, entry);
    token.catch(() => {
      if (this.tokens.get(key) === entry) this.tokens.delete(key);
    });
    return token;
  }

  invalidate(stream: StreamId): void {
    this.tokens.delete(`${stream.scope}/${stream.stream}`);
  }
}
