import type { StateValue } from '../../../src/checkpoint/state-codec.js';
import type { Sink, SinkWriter } from '../../../src/sink/sink.js';

/**
 * At-least-once collecting sink for tests: every written record goes into `records` (shared by
 * all subtasks). Optional `delayMs` per batch to slow the pipeline down on purpose.
 */
export class CollectSink<T> implements Sink<T> {
  readonly records: T[] = [];
  readonly timestamps: (number | undefined)[] = [];
  completedCheckpoints: number[] = [];

  constructor(private readonly delayMs = 0) {}

  createWriter(): SinkWriter<T> {
    return {
      initialize: async () => {},
      writeBatch: (records, timestamps) => {
        records.forEach((r, i) => {
          this.records.push(r);
          const ts = timestamps?.[i];
          this.timestamps.push(ts === undefined || Number.isNaN(ts) ? undefined : ts);
        });
        if (this.delayMs > 0)
          return new Promise<void>((resolve) => setTimeout(resolve, this.delayMs));
      },
      snapshotState: async (): Promise<readonly StateValue[]> => [],
      notifyCheckpointComplete: async (id) => {
        this.completedCheckpoints.push(id);
      },
      close: async () => {},
    };
  }
}
