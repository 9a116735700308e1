import { describe, expect, it } from 'vitest';
import { parseControllerUri } from '../../../src/pravega/controller/uri.js';

describe('parseControllerUri', () => {
  it('reads tcp:// and tls:// addresses', () => {
    expect(parseControllerUri('tcp://localhost:9090')).toEqual({
      tls: false,
      host: 'localhost',
      port: 9090,
    });
    expect(parseControllerUri('tls://ctl.example:443')).toEqual({
      tls: true,
      host: 'ctl.example',
      port: 443,
    });
    expect(parseControllerUri('pravega://127.0.0.1')).toEqual({
      tls: false,
      host: '127.0.0.1',
      port: 9090,
    });
    expect(parseControllerUri('tcp://[::1]:9090')).toEqual({ tls: false, host: '::1', port: 9090 });
  });

  it('says what is wrong with a bad URI', () => {
    expect(() => parseControllerUri('localhost:9090')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
    );
    expect(() => parseControllerUri('http://localhost:9090')).toThrow(
      /expected tcp:\/\/ or tls:\/\//,
    );
    expect(() => parseControllerUri('not a uri')).toThrow(/not a URI/);
  });
});
