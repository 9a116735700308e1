import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeCommand, FrameDecoder, type Command } from '../../src/pravega/protocol/index.js';

/**
 * Misbehaving servers on loopback, for tests of the client's deadlines: each accepts TCP
 * connections on a free port and then does something a healthy Pravega server never does.
 */

export interface FakeServer {
  readonly port: number;
  readonly uri: string;
  /** connections accepted so far */
  readonly connections: number;
  /** bytes sent to clients so far */
  readonly bytesSent: number;
  close(): Promise<void>;
}

/** What a fake server does with each accepted socket; `sent` counts the bytes it writes. */
type Behaviour = (socket: Socket, sent: (n: number) => void) => void;

async function listen(behaviour: Behaviour): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytesSent = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    behaviour(socket, (n) => (bytesSent += n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const port = address.port;
  return {
    port,
    uri: `tcp://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get bytesSent() {
      return bytesSent;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accepts connections, reads and drops whatever comes, never sends a byte. */
export function silentServer(): Promise<FakeServer> {
  return listen((socket) => socket.resume());
}

/**
 * Sends random bytes as fast as the client takes them, for as long as the connection lasts
 * (at most `limitBytes` per connection), after an optional valid prefix.
 */
export function garbageServer(
  prefix = Buffer.alloc(0),
  limitBytes = 256 * 1024 * 1024,
): Promise<FakeServer> {
  return listen((socket, sent) => {
    socket.resume();
    const chunk = randomBytes(64 * 1024);
    let total = 0;
    const pump = (): void => {
      while (!socket.destroyed && total < limitBytes) {
        total += chunk.length;
        sent(chunk.length);
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.write(prefix);
    pump();
  });
}

/**
 * HTTP/2 that a gRPC client cannot use: an empty SETTINGS frame (a valid server preface), then a
 * DATA frame header announcing 16 MiB − 1 bytes on stream 1, then bytes to fill it, for ever.
 */
export function hugeFrameHttp2Server(): Promise<FakeServer> {
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const hugeData = Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]);
  return garbageServer(Buffer.concat([settings, hugeData]));
}

/**
 * A segment store that completes the Hello handshake and echoes keep-alives, and does what
 * `answer` says with every other request (by default: nothing, ever).
 */
export function keepAliveOnlySegmentStore(
  answer: (cmd: Command, reply: (cmd: Command) => void) => void = () => undefined,
): Promise<FakeServer> {
  return listen((socket, sent) => {
    const decoder = new FrameDecoder();
    const reply = (cmd: Command): void => {
      const bytes = encodeCommand(cmd);
      sent(bytes.length);
      socket.write(bytes);
    };
    socket.on('data', (chunk: Buffer) => {
      let commands: Command[];
      try {
        commands = decoder.decode(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const cmd of commands) {
        if (cmd.type === 'hello') reply({ type: 'hello', highVersion: 16, lowVersion: 5 });
        else if (cmd.type === 'keepAlive') reply({ type: 'keepAlive' });
        else answer(cmd, reply);
      }
    });
  });
}
