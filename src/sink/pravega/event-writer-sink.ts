import type { StateValue } from '../../checkpoint/state-codec.js';
import type { SharedClient } from '../../pravega/client/client-registry.js';
import type { EventStreamWriter } from '../../pravega/client/event-writer.js';
import type { CloseReason } from '../../source/source.js';
import type { SinkWriter } from '../sink.js';
import type { PravegaSinkSettings } from './pravega-sink.js';

/** Best-effort and at-least-once: a plain event writer; at-least-once flushes at each checkpoint. */
export class EventWriterSinkWriter<T> implements SinkWriter<T> {
  private shared: SharedClient | undefined;
  private writer: EventStreamWriter<T> | undefined;

  constructor(
    private readonly settings: PravegaSinkSettings<T>,
    private readonly connect: () => Promise<SharedClient>,
  ) {}

  async initialize(): Promise<void> {
    this.shared = await this.connect();
    this.writer = await this.shared.client.createWriter(
      this.settings.stream,
      this.settings.serializer,
    );
  }

  async writeBatch(records: readonly T[]): Promise<void> {
    const writer = this.writer!;
    void writer.writeBatch(records, this.settings.routingKey);
    // waits only when too much is unacknowledged (backpressure); rethrows a failure
    await writer.ready();
  }

  async snapshotState(): Promise<readonly StateValue[]> {
    if (this.settings.guarantee === 'at-least-once') await this.writer!.flush();
    return [];
  }

  async notifyCheckpointComplete(): Promise<void> {}

  async endOfInput(): Promise<void> {
    await this.writer!.flush();
  }

  async close(reason: CloseReason): Promise<void> {
    try {
      if (reason === 'finished') await this.writer?.close();
    } finally {
      this.writer = undefined;
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
