import { TributaryError } from '../errors.js';

/**
 * A mistake in how the command was called (bad argument, missing option, option that cannot be
 * honoured): exit code 2. Everything else that fails is exit code 1.
 */
export function usageError(message: string): TributaryError {
  return new TributaryError('ILLEGAL_ARGUMENT', message, { details: { usage: true } });
}

export function isUsageError(err: unknown): boolean {
  return TributaryError.is(err, 'ILLEGAL_ARGUMENT') && err.details['usage'] === true;
}
