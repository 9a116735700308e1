import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryError } from '../errors.js';

/**
 * A throw-away CA and a server certificate for a TLS-enabled Pravega server, made with `openssl`
 * alone (no Java on the host): the server's PEM certificate and PKCS#8 key for its listeners, and
 * one PKCS#12 store holding the key and certificate chain that serves as the server's key store
 * and trust store (Java opens PKCS#12 files under the JKS type and trusts a key entry's own
 * certificate).
 */

export interface TlsMaterial {
  /** PEM of the test CA: what clients trust */
  readonly caCert: string;
  readonly serverCert: string;
  /** PKCS#8 PEM */
  readonly serverKey: string;
  /** PKCS#12 bytes, protected by {@link TLS_STORE_PASSWORD} */
  readonly keyStore: Buffer;
}

/** The standalone server opens its ZooKeeper trust store with this fixed password. */
export const TLS_STORE_PASSWORD = '1111_aaaa';

function openssl(args: string[], what: string): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `${what} failed: \`openssl ${args.join(' ')}\` → ${result.error?.message ?? result.stderr.trim()}` +
        ' (PravegaContainer.withTls() needs the openssl command)',
    );
  }
}

/** `hosts`: names and IP addresses the server certificate is valid for (besides localhost). */
export function createTlsMaterial(hosts: readonly string[] = []): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-tls-'));
  const p = (name: string) => join(dir, name);
  try {
    const names = new Set(['localhost', '127.0.0.1', ...hosts]);
    const san = [...names].map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    writeFileSync(
      p('server.ext'),
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    const rsa = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
    openssl(['genpkey', ...rsa, '-out', p('ca.key')], 'creating the test CA key');
    openssl(
      ['req', '-x509', '-new', '-key', p('ca.key'), '-sha256', '-days', '3650'].concat([
        '-subj',
        '/CN=Tributary Test CA',
        '-out',
        p('ca.pem'),
      ]),
      'creating the test CA',
    );
    openssl(['genpkey', ...rsa, '-out', p('server.key')], 'creating the server key');
    openssl(
      ['req', '-new', '-key', p('server.key'), '-subj', '/CN=localhost', '-out', p('server.csr')],
      'creating the server certificate request',
    );
    openssl(
      ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key')].concat([
        '-CAcreateserial',
        '-days',
        '3650',
        '-sha256',
        '-extfile',
        p('server.ext'),
        '-out',
        p('server.pem'),
      ]),
      'signing the server certificate',
    );
    openssl(
      ['pkcs12', '-export', '-in', p('server.pem'), '-inkey', p('server.key')].concat([
        '-certfile',
        p('ca.pem'),
        '-name',
        'server',
        '-passout',
        `pass:${TLS_STORE_PASSWORD}`,
        '-out',
        p('server.p12'),
      ]),
      'packing the server key store',
    );
    return {
      caCert: readFileSync(p('ca.pem'), 'utf8'),
      serverCert: readFileSync(p('server.pem'), 'utf8'),
      serverKey: readFileSync(p('server.key'), 'utf8'),
      keyStore: readFileSync(p('server.p12')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
