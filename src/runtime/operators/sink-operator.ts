import type { StateValue } from '../../checkpoint/state-codec.js';
import type { Sink, SinkWriter } from '../../sink/sink.js';
import type { CloseReason } from '../../source/source.js';
import { StreamOperator, type OperatorSnapshot } from '../operator.js';

/** Drives a `SinkWriter`: writes are chained so the writer never sees two calls at once. */
export class SinkOperator<T> extends StreamOperator {
  private writer: SinkWriter<T> | undefined;
  private inflight: Promise<void> | undefined;

  constructor(private readonly sink: Sink<T>) {
    super();
  }

  override async open(): Promise<void> {
    const ctx = this.ctx;
    this.writer = this.sink.createWriter({
      jobName: ctx.jobName,
      sinkUid: ctx.uid,
      subtask: ctx.subtask,
      parallelism: ctx.parallelism,
      attempt: ctx.attempt,
      checkpointing: ctx.checkpointing,
      connectors: ctx.connectors,
      runId: ctx.runId,
      restoredState: ctx.restored?.items,
      allowDuplicates: ctx.allowDuplicates,
      warn: (message, details) => ctx.warn(message, details),
    });
    await this.writer.initialize();
  }

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    const writer = this.writer as SinkWriter<T>;
    const records = values as readonly T[];
    if (this.inflight !== undefined) {
      this.inflight = this.inflight.then(() => writer.writeBatch(records, timestamps));
      return;
    }
    const result = writer.writeBatch(records, timestamps);
    if (result !== undefined) this.inflight = result;
  }

  override pendingWork(): Promise<void> | undefined {
    const inflight = this.inflight;
    if (inflight === undefined) return undefined;
    return inflight.then(() => {
      if (this.inflight === inflight) this.inflight = undefined;
    });
  }

  override processWatermark(): void {}

  override processIdle(): void {}

  override async snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    const items: readonly StateValue[] = await (this.writer as SinkWriter<T>).snapshotState(
      checkpointId,
    );
    return { items };
  }

  override notifyCheckpointComplete(checkpointId: number): Promise<void> {
    return (this.writer as SinkWriter<T>).notifyCheckpointComplete(checkpointId);
  }

  override async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    await this.writer?.notifyCheckpointAborted?.(checkpointId);
  }

  override async endInput(): Promise<void> {
    await this.writer?.endOfInput?.();
  }

  override async close(reason: CloseReason): Promise<void> {
    await this.writer?.close(reason);
  }
}
