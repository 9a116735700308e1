import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * Free TCP ports for a server's listeners (a local JVM's or a container's published ones), picked
 * at random BELOW the kernel's ephemeral range: ports from that range can be taken at any moment
 * by some process's outgoing connection (the JVM's own ZooKeeper and segment-store clients among
 * them), which would make the server's later bind fail with "Address already in use".
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

export async function freePorts(count: number): Promise<number[]> {
  const high = ephemeralLow();
  const low = Math.max(10000, high - 12000);
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 2000) throw new Error(`could not find ${count} free ports in ${low}-${high}`);
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || ports.includes(port)) continue;
    if (await canBind(port)) ports.push(port);
  }
  for (const p of ports) handedOut.add(p);
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/** Whether a TCP connection to host:port is accepted within a second. */
export function tcpReachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
