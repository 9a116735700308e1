import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Controller } from '../../../src/pravega/controller/controller.js';
import { jwtExpiry, TokenCache } from '../../../src/pravega/segment/token-cache.js';

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS512' })}.${part(claims)}.c2lnbmF0dXJl`;
}

/** A controller that hands out tokens valid for `lifetimeS` from now, counting them. */
function controller(lifetimeS: number | undefined): {
  controller: Controller;
  issued: () => number;
} {
  let issued = 0;
  const c = {
    getDelegationToken: () => {
      issued++;
      const now = Math.floor(Date.now() / 1000);
      return Promise.resolve(
        lifetimeS === undefined ? '' : jwt({ sub: 'x', iat: now, exp: now + lifetimeS, n: issued }),
      );
    },
  } as unknown as Controller;
  return { controller: c, issued: () => issued };
}

const stream = { scope: 's', stream: 't' };

describe('TokenCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the expiry of a JWT, and nothing from what is not one', () => {
    expect(jwtExpiry(jwt({ exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    expect(jwtExpiry('')).toBeUndefined();
    expect(jwtExpiry('a.b.c')).toBeUndefined();
    expect(jwtExpiry(jwt({ sub: 'no exp' }))).toBeUndefined();
  });

  it('refreshes a JWT once half of its life has passed', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const { controller: c, issued } = controller(60);
    const cache = new TokenCache(c);
    const first = await cache.get(stream);
    vi.advanceTimersByTime(29_000);
    expect(await cache.get(stream)).toBe(first);
    vi.advanceTimersByTime(2_000);
    expect(await cache.get(stream)).not.toBe(first);
    expect(issued()).toBe(2);
  });

  it('refreshes other tokens after refreshAfterMs, and any token when told it expired', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const { controller: c, issued } = controller(undefined);
    const cache = new TokenCache(c, 300_000);
    await cache.get(stream);
    vi.advanceTimersByTime(299_000);
    await cache.get(stream);
    expect(issued()).toBe(1);
    vi.advanceTimersByTime(2_000);
    await cache.get(stream);
    expect(issued()).toBe(2);
    cache.invalidate(stream);
    await cache.get(stream);
    expect(issued()).toBe(3);
  });
});
