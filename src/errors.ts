/**
 * Every error Tributary raises is a {@link TributaryError} with a code from this closed list and a
 * `retryable` flag that says whether repeating the same operation may succeed.
 */
export const ERROR_CODES = [
  // configuration and usage
  'CONFIG_INVALID',
  'ILLEGAL_STATE',
  'ILLEGAL_ARGUMENT',
  'CLOSED',
  'TIMEOUT',
  'CANCELLED',
  // network and protocol
  'CONNECTION_FAILED',
  'CONNECTION_CLOSED',
  'PROTOCOL_ERROR',
  'DECODE_ERROR',
  'FRAME_TOO_LARGE',
  'INCOMPATIBLE_SERVER',
  'AUTH_FAILED',
  'TOKEN_EXPIRED',
  'SERVER_ERROR',
  'WRONG_HOST',
  // controller
  'CONTROLLER_UNAVAILABLE',
  'CONTROLLER_ERROR',
  'SCOPE_NOT_FOUND',
  'SCOPE_EXISTS',
  'SCOPE_NOT_EMPTY',
  'STREAM_NOT_FOUND',
  'STREAM_EXISTS',
  'STREAM_SEALED',
  'STREAM_NOT_SEALED',
  'INVALID_NAME',
  'SCALE_FAILED',
  // segments and events
  'SEGMENT_SEALED',
  'NO_SUCH_SEGMENT',
  'SEGMENT_EXISTS',
  'SEGMENT_TRUNCATED',
  'EVENT_TOO_LARGE',
  'INVALID_EVENT_NUMBER',
  'CONDITIONAL_CHECK_FAILED',
  'TABLE_KEY_BAD_VERSION',
  'TABLE_KEY_NOT_FOUND',
  'TABLE_NOT_EMPTY',
  'OPERATION_UNSUPPORTED',
  // schema registry
  'REGISTRY_NOT_FOUND',
  'REGISTRY_CONFLICT',
  // transactions
  'TXN_NOT_FOUND',
  'TXN_LOST',
  'TXN_FAILED',
  'TXN_STATE',
  'TXN_LEASE_INVALID',
  // reader groups and checkpoints
  'READER_GROUP_NOT_FOUND',
  'READER_GROUP_EXISTS',
  'READER_NOT_IN_GROUP',
  'CHECKPOINT_LIMIT',
  'CHECKPOINT_FAILED',
  'END_OF_STREAM',
  // embedded store
  'STORE_LOCKED',
  'STORE_CORRUPT',
  'STORE_IO',
  // runtime
  'JOB_FAILED',
  'JOB_ALREADY_RUNNING',
  'DATA_LOSS',
  'STATE_CORRUPT',
  'DESERIALIZATION_FAILED',
  // environment
  'ENVIRONMENT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The one place that decides whether an error of a code is retryable when the code that raises it
 * says nothing more specific: true where repeating the same operation later may succeed (a
 * transient network, server or timing condition), false where it cannot until something changes
 * (bad input, a missing or existing resource, corrupt data, a lock held by someone else).
 */
export const RETRYABLE_BY_DEFAULT: Readonly<Record<ErrorCode, boolean>> = {
  CONFIG_INVALID: false,
  ILLEGAL_STATE: false,
  ILLEGAL_ARGUMENT: false,
  CLOSED: false,
  TIMEOUT: true,
  CANCELLED: false,
  CONNECTION_FAILED: true,
  CONNECTION_CLOSED: true,
  PROTOCOL_ERROR: false,
  DECODE_ERROR: false,
  FRAME_TOO_LARGE: false,
  INCOMPATIBLE_SERVER: false,
  AUTH_FAILED: false,
  TOKEN_EXPIRED: true,
  SERVER_ERROR: false,
  WRONG_HOST: true,
  CONTROLLER_UNAVAILABLE: true,
  CONTROLLER_ERROR: false,
  SCOPE_NOT_FOUND: false,
  SCOPE_EXISTS: false,
  SCOPE_NOT_EMPTY: false,
  STREAM_NOT_FOUND: false,
  STREAM_EXISTS: false,
  STREAM_SEALED: false,
  STREAM_NOT_SEALED: false,
  INVALID_NAME: false,
  SCALE_FAILED: false,
  SEGMENT_SEALED: false,
  NO_SUCH_SEGMENT: false,
  SEGMENT_EXISTS: false,
  SEGMENT_TRUNCATED: false,
  EVENT_TOO_LARGE: false,
  INVALID_EVENT_NUMBER: false,
  CONDITIONAL_CHECK_FAILED: false,
  TABLE_KEY_BAD_VERSION: false,
  TABLE_KEY_NOT_FOUND: false,
  TABLE_NOT_EMPTY: false,
  OPERATION_UNSUPPORTED: false,
  REGISTRY_NOT_FOUND: false,
  REGISTRY_CONFLICT: false,
  TXN_NOT_FOUND: false,
  TXN_LOST: false,
  TXN_FAILED: false,
  TXN_STATE: false,
  TXN_LEASE_INVALID: false,
  READER_GROUP_NOT_FOUND: false,
  READER_GROUP_EXISTS: false,
  READER_NOT_IN_GROUP: false,
  CHECKPOINT_LIMIT: true,
  CHECKPOINT_FAILED: true,
  END_OF_STREAM: false,
  STORE_LOCKED: false,
  STORE_CORRUPT: false,
  STORE_IO: false,
  JOB_FAILED: false,
  JOB_ALREADY_RUNNING: false,
  DATA_LOSS: false,
  STATE_CORRUPT: false,
  DESERIALIZATION_FAILED: false,
  ENVIRONMENT: false,
  INTERNAL: false,
};

export interface TributaryErrorOptions {
  /** Overrides {@link RETRYABLE_BY_DEFAULT} for this one error. */
  retryable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

const BRAND = Symbol.for('tributary.error');

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT[code];
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof` that also works across duplicate copies of the package. */
  static is(value: unknown, code?: ErrorCode): value is TributaryError {
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false;
    return code === undefined || (value as unknown as TributaryError).code === code;
  }
}

/** True when `err` or anything in its cause chain is a TributaryError with one of `codes`. */
export function hasErrorCode(err: unknown, ...codes: ErrorCode[]): boolean {
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 16; depth++) {
    if (TributaryError.is(current) && codes.includes(current.code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether retrying the failed operation may succeed: true only for a TributaryError whose
 * `retryable` flag says so (its code's {@link RETRYABLE_BY_DEFAULT} unless the raiser decided
 * otherwise). Anything else (a plain Error, a TypeError from user code, a string) is not.
 */
export function isRetryable(error: unknown): boolean {
  return TributaryError.is(error) && error.retryable;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Codes of failures that a restart cannot cure: the same configuration, data or environment would
 * fail the same way again (bad options, missing scopes or streams, a locked store, an invalid
 * lease, corrupt state, lost data, a second copy of the job). A job fails at once on them, with
 * no restart.
 */
export const PERMANENT_FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONFIG_INVALID',
  'ILLEGAL_ARGUMENT',
  'INVALID_NAME',
  'INCOMPATIBLE_SERVER',
  'AUTH_FAILED',
  'SCOPE_NOT_FOUND',
  'STREAM_NOT_FOUND',
  'STREAM_SEALED',
  'EVENT_TOO_LARGE',
  'OPERATION_UNSUPPORTED',
  'TXN_LEASE_INVALID',
  'TXN_STATE',
  'STORE_LOCKED',
  'STORE_CORRUPT',
  'STATE_CORRUPT',
  'DATA_LOSS',
  'DESERIALIZATION_FAILED',
  'JOB_ALREADY_RUNNING',
]);

/**
 * Whether a job failure is permanent (see {@link PERMANENT_FAILURE_CODES}): some TributaryError in
 * the cause chain has a permanent code and is not marked retryable. Anything else — user code
 * throwing, lost connections, failed checkpoints, timeouts — may pass on a restart.
 */
export function isPermanentFailure(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 16; depth++) {
    if (
      TributaryError.is(current) &&
      !current.retryable &&
      PERMANENT_FAILURE_CODES.has(current.code)
    )
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
