import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { createLogger, resolveLogLevel } from '../../../src/observe/logger.js';
import { Redactor, isSecretKey } from '../../../src/observe/redact.js';

function capture(): {
  stream: Writable;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const text = (): string => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const PEM =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';

describe('secret keys', () => {
  it('are recognised by their words, not by a suffix that happens to match', () => {
    for (const key of [
      'password',
      'dbPassword',
      'token',
      'x-auth-token',
      'credentials',
      'key',
      'privateKey',
      'api_key',
      'Authorization',
      'secret',
      'passphrase',
    ])
      expect(isSecretKey(key), key).toBe(true);
    for (const key of ['routingKey', 'keySelector', 'monkey', 'username', 'controllerUri', 'keys'])
      expect(isSecretKey(key), key).toBe(false);
  });
});

describe('redaction', () => {
  it('replaces secret values, known secrets in text, URL passwords and bearer tokens', () => {
    const r = new Redactor(['s3cr3t-token-value']);
    const out = r.value({
      pravega: {
        controllerUri: 'tcp://admin:hunter22@controller:9090',
        credentials: { username: 'admin', password: 'hunter22' },
        tls: { key: PEM, cert: 'public cert' },
      },
      note: 'the token is s3cr3t-token-value, header Authorization: Bearer abc.def.ghi',
      routingKey: 'customer-7',
      err: new TributaryError('AUTH_FAILED', 'rejected s3cr3t-token-value', {
        details: { token: 's3cr3t-token-value' },
      }),
    });
    const json = JSON.stringify(out);
    for (const secret of ['hunter22', 's3cr3t-token-value', 'abc.def.ghi', 'MIIEvQIBADAN'])
      expect(json).not.toContain(secret);
    expect(json).toContain('customer-7');
    expect(json).toContain('controller:9090');
    expect(json).toContain('AUTH_FAILED');
  });

  it('collects secret values from configuration, to cut them out of any message', () => {
    expect(
      Redactor.collectSecrets({
        a: { credentials: { username: 'u', password: 'pw-1234' } },
        token: 'tok-5678',
      }).sort(),
    ).toEqual(['pw-1234', 'tok-5678', 'u']);
  });
});

describe('logger', () => {
  it('writes JSON lines and never a secret, whether in fields, messages or errors', () => {
    const out = capture();
    const log = createLogger(
      { level: 'debug', destination: out.stream, secrets: ['my-bearer-token-1'] },
      new Redactor(Redactor.collectSecrets({ credentials: { password: 'pw-from-config' } })),
    );
    log.info({ options: { pravega: { credentials: { password: 'pw-from-config' } } } }, 'starting');
    log.warn('connect failed for tcp://u:pw-from-config@host:9090 with my-bearer-token-1');
    log.error({ err: new Error('auth rejected: pw-from-config') }, 'failed');
    log.debug({ tls: { key: PEM } }, 'tls');
    const text = out.text();
    expect(text).not.toContain('pw-from-config');
    expect(text).not.toContain('my-bearer-token-1');
    expect(text).not.toContain('MIIEvQIBADAN');
    const lines = out.lines();
    expect(lines.map((l) => l.msg)).toEqual([
      'starting',
      expect.stringContaining('[redacted]'),
      'failed',
      'tls',
    ]);
    expect(lines[0]).toMatchObject({ level: 'info' });
    expect(lines[2]).toMatchObject({
      level: 'error',
      err: { message: 'auth rejected: [redacted]' },
    });
  });

  it('takes its level from the option, else from TRIBUTARY_LOG_LEVEL, else info', () => {
    expect(resolveLogLevel('debug', { TRIBUTARY_LOG_LEVEL: 'error' })).toBe('debug');
    expect(resolveLogLevel(undefined, { TRIBUTARY_LOG_LEVEL: 'WARN' })).toBe('warn');
    expect(resolveLogLevel(undefined, {})).toBe('info');
    expect(() => resolveLogLevel(undefined, { TRIBUTARY_LOG_LEVEL: 'loud' })).toThrow(
      /TRIBUTARY_LOG_LEVEL: "loud" is not a log level/,
    );
    expect(() => resolveLogLevel('verbose', {})).toThrow(/log.level: "verbose"/);
  });

  it('drops lines below its level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('writes human-readable lines when asked for pretty output', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream, pretty: true });
    log.info({ checkpointId: 3 }, 'checkpoint 3 completed');
    expect(out.text()).toMatch(/INFO.*checkpoint 3 completed/);
    expect(() => JSON.parse(out.text()) as unknown).toThrow();
  });
});
