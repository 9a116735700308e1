import { TributaryError } from '../errors.js';

/**
 * Every wait of the coordination core has a deadline: `work` either settles within `ms`, or the
 * caller gets a TIMEOUT naming what was waited for (the work itself is not cancelled; its late
 * result is dropped).
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TributaryError(
          'TIMEOUT',
          `${what} did not finish within ${ms} ms; check that the Pravega server answers, or raise the cluster's operation timeout`,
          { details: { what, ms } },
        ),
      );
    }, ms);
    timer.unref();
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits until `condition()` holds, checking every `pollMs`, for at most `ms`; TIMEOUT naming
 * `what` otherwise. For callers that wait on the table's state (tests, the CLI), not for the
 * protocol itself, which never blocks on a condition.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  pollMs = 20,
): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > until) {
      throw new TributaryError('TIMEOUT', `${what} did not happen within ${ms} ms`, {
        details: { what, ms },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
