import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../../src/errors.js';

/** Password files and TLS material for the auth and TLS variants of the test server. */

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export const DEFAULT_CREDENTIALS: Credentials = { username: 'admin', password: '1111_aaaa' };

const PASSWD_TOOL = fileURLToPath(new URL('./PasswdTool.java', import.meta.url));

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `${what} failed: \`${command} ${args.join(' ')}\` → ${result.error?.message ?? result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/**
 * Writes a Pravega password file granting each user full access, hashing the passwords with the
 * server's own password processor (a small Java source file run against the server's classpath).
 */
export function writePasswordFile(
  dir: string,
  java: string,
  classpath: string,
  users: readonly Credentials[],
): string {
  mkdirSync(dir, { recursive: true });
  const lines = users.map((user) =>
    run(
      java,
      ['-cp', classpath, PASSWD_TOOL, user.username, user.password, 'prn::*,READ_UPDATE'],
      'hashing a password for the Pravega password file',
    ).trim(),
  );
  const file = join(dir, 'passwd');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

export interface TlsMaterial {
  /** PEM of the test CA: what clients trust */
  readonly caCert: string;
  readonly serverCert: string;
  /** PKCS#8 PEM */
  readonly serverKey: string;
  readonly keyStore: string;
  readonly keyStorePasswordFile: string;
  /** JKS holding the CA, for Java clients */
  readonly trustStore: string;
}

/** A throw-away CA and a server certificate for localhost / 127.0.0.1 / 0.0.0.0 (openssl, keytool). */
export function writeTlsMaterial(dir: string): TlsMaterial {
  mkdirSync(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  // the standalone server opens the ZooKeeper trust store with this fixed password, whatever the
  // password file says, so every store here uses it
  const password = '1111_aaaa';
  writeFileSync(p('keystore.pwd'), password);
  writeFileSync(
    p('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:0.0.0.0\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const openssl = 'openssl';
  run(
    openssl,
    ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('ca.key')],
    'creating the test CA key',
  );
  run(
    openssl,
    [
      'req',
      '-x509',
      '-new',
      '-key',
      p('ca.key'),
      '-sha256',
      '-days',
      '3650',
      '-subj',
      '/CN=Tributary Test CA',
      '-out',
      p('ca.pem'),
    ],
    'creating the test CA',
  );
  run(
    openssl,
    ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('server.key')],
    'creating the server key',
  );
  run(
    openssl,
    ['req', '-new', '-key', p('server.key'), '-subj', '/CN=localhost', '-out', p('server.csr')],
    'creating the server CSR',
  );
  run(
    openssl,
    [
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '3650',
      '-sha256',
      '-extfile',
      p('server.ext'),
      '-out',
      p('server.pem'),
    ],
    'signing the server certificate',
  );
  run(
    openssl,
    [
      'pkcs12',
      '-export',
      '-in',
      p('server.pem'),
      '-inkey',
      p('server.key'),
      '-name',
      'server',
      '-passout',
      `pass:${password}`,
      '-out',
      p('server.p12'),
    ],
    'packing the server key store',
  );
  run(
    'keytool',
    [
      '-importkeystore',
      '-noprompt',
      '-srckeystore',
      p('server.p12'),
      '-srcstoretype',
      'PKCS12',
      '-srcstorepass',
      password,
      '-destkeystore',
      p('server.jks'),
      '-deststoretype',
      'JKS',
      '-deststorepass',
      password,
    ],
    'converting the key store to JKS',
  );
  run(
    'keytool',
    [
      '-importcert',
      '-noprompt',
      '-alias',
      'ca',
      '-file',
      p('ca.pem'),
      '-keystore',
      p('client.truststore.jks'),
      '-storetype',
      'JKS',
      '-storepass',
      password,
    ],
    'creating the trust store',
  );
  return {
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    keyStore: p('server.jks'),
    keyStorePasswordFile: p('keystore.pwd'),
    trustStore: p('client.truststore.jks'),
  };
}
