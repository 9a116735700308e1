import { TributaryError } from '../../errors.js';

/** `tcp://host:port` or `tls://host:port` (also `pravega://`, `ssl://`) — a controller address. */
export interface ControllerAddress {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
}

export function parseControllerUri(uri: string): ControllerAddress {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TributaryError(
      'CONFIG_INVALID',
      `controller URI ${JSON.stringify(uri)} is not a URI; expected tcp://host:port or tls://host:port`,
    );
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!['tcp', 'tls', 'ssl', 'pravega', 'pravegas'].includes(scheme)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `controller URI ${JSON.stringify(uri)} has scheme ${scheme}; expected tcp:// or tls://`,
    );
  }
  const port = url.port === '' ? 9090 : Number(url.port);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') {
    throw new TributaryError('CONFIG_INVALID', `controller URI ${JSON.stringify(uri)} has no host`);
  }
  return { tls: scheme === 'tls' || scheme === 'ssl' || scheme === 'pravegas', host, port };
}
