import type { Transport } from '../../../src/pravega/connection/transport.js';
import { encodeCommand, FrameDecoder, type Command } from '../../../src/pravega/protocol/index.js';

/** An in-memory transport whose far side is a scripted fake server. */
export class FakeTransport implements Transport {
  readonly sent: Command[] = [];
  private readonly decoder = new FrameDecoder();
  private dataListener: ((chunk: Buffer) => void) | undefined;
  private closeListeners: ((error?: Error) => void)[] = [];
  closed = false;
  bufferedBytes = 0;

  constructor(private readonly onCommand: (cmd: Command, t: FakeTransport) => void) {}

  write(parts: readonly Buffer[]): boolean {
    for (const cmd of this.decoder.decode(Buffer.concat(parts))) {
      this.sent.push(cmd);
      this.onCommand(cmd, this);
    }
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }
  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l(error);
  }
  /** The server sends `cmd`, optionally split into pieces. */
  reply(cmd: Command, pieces = 1): void {
    const bytes = encodeCommand(cmd);
    const step = Math.ceil(bytes.length / pieces);
    for (let i = 0; i < bytes.length; i += step) this.dataListener?.(bytes.subarray(i, i + step));
  }
}
