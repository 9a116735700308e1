import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, passwordFile } from '../../../src/testing/password-file.js';

/** The password file PravegaContainer writes, in the format the server's StrongPasswordProcessor checks. */
describe('Pravega password file', () => {
  it('hashes as iterations:salt:key (PBKDF2-HMAC-SHA256, 5000 rounds, 64-byte key), hex-encoded', () => {
    const salt = Buffer.alloc(32, 7);
    const inner = Buffer.from(hashPassword('1111_aaaa', salt), 'hex').toString('utf8');
    const [iterations, saltHex, keyHex] = inner.split(':');
    expect(iterations).toBe('5000');
    expect(saltHex).toBe(salt.toString('hex'));
    expect(keyHex).toBe(pbkdf2Sync('1111_aaaa', salt, 5000, 64, 'sha256').toString('hex'));
    expect(keyHex).toHaveLength(128);
  });

  it('salts every hash afresh', () => {
    expect(hashPassword('x')).not.toBe(hashPassword('x'));
  });

  it('writes one full-access line per user', () => {
    const lines = passwordFile([
      { username: 'a', password: 'p1' },
      { username: 'b', password: 'p2' },
    ]).split('\n');
    expect(lines[0]).toMatch(/^a:[0-9a-f]+:prn::\*,READ_UPDATE$/);
    expect(lines[1]).toMatch(/^b:[0-9a-f]+:prn::\*,READ_UPDATE$/);
  });

  it('rejects credentials the file or JAVA_OPTS cannot carry, naming the key', () => {
    expect(() => passwordFile([{ username: 'a b', password: 'p' }])).toThrow(
      /credentials\.username/,
    );
    expect(() => passwordFile([{ username: 'a', password: 'p:q' }])).toThrow(
      /credentials\.password/,
    );
    expect(() => passwordFile([{ username: 'a', password: '' }])).toThrow(/credentials\.password/);
  });
});
