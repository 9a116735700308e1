import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { TributaryError } from '../errors.js';

/**
 * Lines of a Pravega password file (`user:hash:acl`), hashed the way the server's
 * StrongPasswordProcessor checks them: PBKDF2-HMAC-SHA256, 5000 iterations, a 32-byte random salt,
 * a 64-byte key, and `iterations:hex(salt):hex(key)` hex-encoded once more. No Java needed.
 */

const ITERATIONS = 5000;
const KEY_BYTES = 64;
const SALT_BYTES = 32;

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** The standalone server's default admin account. */
export const DEFAULT_CREDENTIALS: Credentials = { username: 'admin', password: '1111_aaaa' };

/** Rejects what the server's file formats or JAVA_OPTS cannot carry. */
export function checkCredentials(credentials: Credentials): void {
  for (const [key, value] of Object.entries(credentials)) {
    if (typeof value !== 'string' || value === '' || /[\s:]/.test(value)) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `credentials.${key} must be a non-empty string without blanks or ':' (the server's password file and JAVA_OPTS cannot carry them); got ${JSON.stringify(value)}`,
      );
    }
  }
}

export function hashPassword(password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, KEY_BYTES, 'sha256');
  const inner = `${ITERATIONS}:${salt.toString('hex')}:${key.toString('hex')}`;
  return Buffer.from(inner, 'utf8').toString('hex');
}

/** `user:hash:prn::*,READ_UPDATE` per user: full access to everything. */
export function passwordFile(users: readonly Credentials[]): string {
  return users
    .map((user) => {
      checkCredentials(user);
      return `${user.username}:${hashPassword(user.password)}:prn::*,READ_UPDATE\n`;
    })
    .join('');
}
