import { describe, expect, it } from 'vitest';
import { Connection } from '../../../src/pravega/connection/connection.js';
import type { Transport } from '../../../src/pravega/connection/transport.js';
import { encodeCommand, FrameDecoder } from '../../../src/pravega/protocol/index.js';
import { WireAppendSession } from '../../../src/pravega/segment/wire-segment-store.js';

/** A transport whose far side answers Hello and nothing else. */
class HelloOnlyTransport implements Transport {
  private readonly decoder = new FrameDecoder();
  private dataListener: ((chunk: Buffer) => void) | undefined;
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  bufferedBytes = 0;

  write(parts: readonly Buffer[]): boolean {
    for (const cmd of this.decoder.decode(Buffer.concat(parts))) {
      if (cmd.type === 'hello') {
        const reply = encodeCommand({ type: 'hello', highVersion: 16, lowVersion: 5 });
        queueMicrotask(() => this.dataListener?.(reply));
      }
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
    for (const l of this.closeListeners) l(error);
  }
}

describe('append session setup', () => {
  it('on a connection closed before the setup, fails at once and leaves no timer that throws later', async () => {
    const connection = await Connection.open(new HelloOnlyTransport(), { label: 'fake' });
    connection.close();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const handlers = { onAck: () => undefined, onFailure: () => undefined };
      await expect(
        WireAppendSession.open(connection, 'scope/stream/0', 'w', '', handlers, 20),
      ).rejects.toBeInstanceOf(Error);
      // past the setup timeout: before the fix its timer closed an undefined flow (TypeError)
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
