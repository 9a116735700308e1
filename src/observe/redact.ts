/**
 * Keeps secrets out of logs and status pages: values under secret-looking keys are replaced,
 * known secret values are cut out of every string, and so are URL passwords and bearer tokens.
 */

export const REDACTED = '[redacted]';

/** A key is secret when one of its words is one of these (`dbPassword`, `x-auth-token`)... */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'passphrase',
  'pass',
  'secret',
  'token',
  'credential',
  'credentials',
  'authorization',
  'auth',
  'cookie',
  'pfx',
]);
/** ...or when it is `key` or ends in one of these pairs (`privateKey`, `api_key`; not `routingKey`). */
const SECRET_PAIRS = ['private key', 'api key', 'access key', 'secret key', 'session id'];

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)@/gi;
const BEARER = /\b(bearer|basic)\s+[a-z0-9._~+/=-]+/gi;

const MAX_DEPTH = 8;
const MIN_SECRET_LENGTH = 4;

export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  if (words.length === 1 && words[0] === 'key') return true;
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  const lastTwo = words.slice(-2).join(' ');
  return SECRET_PAIRS.includes(lastTwo);
}

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string> = []) {
    // longest first, so that a secret containing another is cut out whole
    this.secrets = [...new Set(secrets)]
      .filter((s) => s.length >= MIN_SECRET_LENGTH)
      .sort((a, b) => b.length - a.length);
  }

  /** Every string value found under a secret-looking key of `value` (to scrub it elsewhere too). */
  static collectSecrets(value: unknown): string[] {
    const out: string[] = [];
    const walk = (v: unknown, underSecret: boolean, depth: number): void => {
      if (depth > MAX_DEPTH) return;
      if (typeof v === 'string') {
        if (underSecret) out.push(v);
        return;
      }
      if (typeof v !== 'object' || v === null) return;
      for (const [k, child] of Object.entries(v as Record<string, unknown>))
        walk(child, underSecret || isSecretKey(k), depth + 1);
    };
    walk(value, false, 0);
    return out;
  }

  withSecrets(more: Iterable<string>): Redactor {
    return new Redactor([...this.secrets, ...more]);
  }

  text(s: string): string {
    let out = s;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return out.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(BEARER, `$1 ${REDACTED}`);
  }

  /** A copy of `value` with secrets replaced; errors become plain objects (message, code, stack). */
  value(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    seen.add(value);
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
    if (value instanceof Date) return value.toISOString();
    if (Array.isArray(value)) return value.map((v) => this.value(v, depth + 1, seen));
    if (value instanceof Map)
      return this.value(Object.fromEntries(value as Map<unknown, unknown>), depth, seen);
    if (value instanceof Set) return this.value([...(value as Set<unknown>)], depth, seen);
    const source: Record<string, unknown> =
      value instanceof Error ? errorFields(value) : (value as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(source)) {
      out[k] =
        isSecretKey(k) && v !== undefined && v !== null ? REDACTED : this.value(v, depth + 1, seen);
    }
    return out;
  }
}

function errorFields(err: Error): Record<string, unknown> {
  const e = err as Error & { code?: unknown; retryable?: unknown; details?: unknown };
  return {
    type: err.name,
    message: err.message,
    ...(e.code === undefined ? {} : { code: e.code }),
    ...(e.retryable === undefined ? {} : { retryable: e.retryable }),
    ...(e.details === undefined || Object.keys(e.details as object).length === 0
      ? {}
      : { details: e.details }),
    ...(err.stack === undefined ? {} : { stack: err.stack }),
    ...(err.cause === undefined ? {} : { cause: err.cause }),
  };
}
