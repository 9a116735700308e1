import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  RETRYABLE_BY_DEFAULT,
  TributaryError,
  isRetryable,
} from '../../../src/errors.js';

describe('retryability', () => {
  it('has one default for every code of the closed list, and nothing else', () => {
    expect(Object.keys(RETRYABLE_BY_DEFAULT).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('a TributaryError takes its code default unless the raiser overrides it', () => {
    expect(new TributaryError('TIMEOUT', 'x').retryable).toBe(true);
    expect(new TributaryError('CONTROLLER_UNAVAILABLE', 'x').retryable).toBe(true);
    expect(new TributaryError('STORE_LOCKED', 'x').retryable).toBe(false);
    expect(new TributaryError('ILLEGAL_ARGUMENT', 'x').retryable).toBe(false);
    expect(new TributaryError('CONNECTION_FAILED', 'x', { retryable: false }).retryable).toBe(
      false,
    );
    expect(new TributaryError('SERVER_ERROR', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('isRetryable is true only for a TributaryError that says so', () => {
    expect(isRetryable(new TributaryError('CONNECTION_CLOSED', 'x'))).toBe(true);
    expect(isRetryable(new TributaryError('SCOPE_NOT_FOUND', 'x'))).toBe(false);
    expect(isRetryable(new TributaryError('TXN_LEASE_INVALID', 'x'))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
    expect(isRetryable(new TypeError('x is undefined'))).toBe(false);
    expect(isRetryable('TIMEOUT')).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
    expect(isRetryable({ code: 'TIMEOUT', retryable: true })).toBe(false);
  });
});
