import { describe, expect, it } from 'vitest';
import { Connection } from '../../../src/pravega/connection/connection.js';
import { WireAppendSession } from '../../../src/pravega/segment/wire-segment-store.js';
import { FakeTransport } from '../helpers/fake-transport.js';

describe('append session setup', () => {
  it('on a connection closed before the setup, fails at once and leaves no timer that throws later', async () => {
    const connection = await Connection.open(
      new FakeTransport((cmd, t) => {
        // the far side answers Hello and nothing else
        if (cmd.type === 'hello')
          queueMicrotask(() => t.reply({ type: 'hello', highVersion: 16, lowVersion: 5 }));
      }),
      { label: 'fake' },
    );
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
