import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A free TCP port for a published listener, picked at random below the kernel's ephemeral range
 * (ports in that range can be taken at any moment by an outgoing connection).
 */

function ephemeralLow(): number {
  try {
    const n = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isFinite(n) && n > 12000 ? n : 32768;
  } catch {
    return 32768;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(10000, high - 12000);
  for (let tries = 0; tries < 2000; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port in ${low}-${high}`);
}
