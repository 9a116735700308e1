import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { TributaryError, errorMessage } from '../../../errors.js';

/**
 * Retries of controller calls: only for gRPC statuses that mean "the call did not happen or may
 * be repeated safely", with exponential backoff and jitter. Everything else fails at once.
 *
 * One overall deadline covers a call and all of its retries (as Temporal's SDK does): each attempt
 * gets the time that is left as its gRPC deadline, a backoff never sleeps past it, and when it
 * passes the call fails with the last attempt's error (retryable) or a TIMEOUT.
 */

export interface RetryPolicy {
  /** total attempts, including the first */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** deadline of a call across all its attempts (default 30 s) */
  readonly overallTimeoutMs?: number;
}

export const DEFAULT_CONTROLLER_TIMEOUT_MS = 30_000;

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  overallTimeoutMs: DEFAULT_CONTROLLER_TIMEOUT_MS,
};

const RETRYABLE = new Set<number>([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
  GrpcStatus.DEADLINE_EXCEEDED,
]);

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

export function isRetryableStatus(err: unknown): boolean {
  return isServiceError(err) && RETRYABLE.has(err.code);
}

export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** attempt);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Runs `call` (given the absolute deadline of its attempt) until it succeeds, fails for good, runs
 * out of attempts, or the overall deadline passes. `target` names the controller in messages.
 */
export async function withRetry<T>(
  method: string,
  policy: RetryPolicy,
  call: (attemptDeadline: number) => Promise<T>,
  target = 'the controller',
): Promise<T> {
  const timeoutMs = policy.overallTimeoutMs ?? DEFAULT_CONTROLLER_TIMEOUT_MS;
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(deadline);
    } catch (err) {
      const attempts = attempt + 1;
      if (!isRetryableStatus(err) || attempts >= policy.maxAttempts) {
        throw toTributaryError(method, err, attempts, deadlineNote(err, target, timeoutMs));
      }
      const pause = backoffMs(policy, attempt);
      if (Date.now() + pause >= deadline) {
        throw toTributaryError(method, err, attempts, deadlineNote(err, target, timeoutMs, true));
      }
      await sleep(pause);
    }
  }
}

function deadlineNote(err: unknown, target: string, timeoutMs: number, outOfTime = false): string {
  return outOfTime ||
    (isServiceError(err) && (err.code as number) === (GrpcStatus.DEADLINE_EXCEEDED as number))
    ? ` (${target} gave no answer within the controller timeout of ${timeoutMs} ms; raise controllerTimeoutMs if it is only slow)`
    : '';
}

/** Maps a gRPC failure to a typed error naming the RPC. */
export function toTributaryError(
  method: string,
  err: unknown,
  attempts = 1,
  note = '',
): TributaryError {
  if (TributaryError.is(err)) return err;
  const tries = `${attempts > 1 ? ` after ${attempts} attempts` : ''}${note}`;
  if (!isServiceError(err)) {
    return new TributaryError(
      'CONTROLLER_ERROR',
      `controller ${method} failed${tries}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  const what = `controller ${method} failed${tries}: ${err.details || err.message}`;
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
      return new TributaryError('CONTROLLER_UNAVAILABLE', what, { retryable: true, cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new TributaryError('TIMEOUT', what, { retryable: true, cause: err });
    case GrpcStatus.UNAUTHENTICATED:
      return new TributaryError(
        'AUTH_FAILED',
        `${what} (check the username and password given to the client)`,
        { cause: err },
      );
    case GrpcStatus.PERMISSION_DENIED:
      return new TributaryError('AUTH_FAILED', `${what} (the user lacks permission)`, {
        cause: err,
      });
    case GrpcStatus.INVALID_ARGUMENT:
      return new TributaryError('ILLEGAL_ARGUMENT', what, { cause: err });
    default:
      return new TributaryError('CONTROLLER_ERROR', what, {
        cause: err,
        retryable: RETRYABLE.has(err.code),
        details: { grpcCode: err.code },
      });
  }
}
