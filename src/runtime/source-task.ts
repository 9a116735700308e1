import type { OperatorSubtaskState } from '../checkpoint/checkpoint-data.js';
import { encodeState, type StateValue } from '../checkpoint/state-codec.js';
import {
  isExternallyInducedReader,
  type AnySource,
  type CloseReason,
  type SourceReader,
  type SourceSplit,
} from '../source/source.js';
import { checkKeyGroupControl, type KeyGroupControl } from './key-group-control.js';
import { MAX_WATERMARK, MIN_WATERMARK } from './stream-element.js';
import type { OperatorCounts } from './metrics-registry.js';
import { Task, type TaskSetup } from './task.js';
import type { WatermarkStrategy } from './watermark-strategy.js';

/** How a source task talks to its source's coordinator (the enumerator side). */
export interface SourceTaskCoordinator {
  registerReader(subtask: number): void;
  requestSplit(subtask: number): void;
  readerFinished(subtask: number): void;
  returnSplits(splits: readonly SourceSplit[], subtask: number): void;
}

export interface SourceTaskSetup extends TaskSetup {
  readonly sourceUid: string;
  readonly source: AnySource<unknown>;
  readonly watermarkStrategy: WatermarkStrategy<unknown> | undefined;
  readonly restoredSplits: readonly StateValue[] | undefined;
  readonly coordinator: SourceTaskCoordinator;
}

/**
 * A task headed by a source reader. Polls the reader (never blocking), assigns timestamps and
 * watermarks, and pushes batches into its chain. Barriers: injected through the mailbox, or,
 * for externally induced readers, placed where `shouldTriggerCheckpoint()` says, after the
 * records of the poll that preceded it. After end of input the task stays alive to place the
 * barriers of later checkpoints itself (so the final checkpoint works), until told to finish.
 */
export class SourceTask extends Task {
  private reader!: SourceReader<unknown, SourceSplit>;
  private readonly induced: boolean;
  private readerEnded = false;
  /** Externally induced checkpoints triggered by the coordinator whose barrier is still due. */
  private readonly dueBarriers = new Set<number>();
  private maxTimestamp = MIN_WATERMARK;
  private emittedWatermark = MIN_WATERMARK;
  private idle = false;
  private lastRecordAt = Date.now();
  /** Key group controls the reader emitted, to go out before its next records. */
  private controls: KeyGroupControl[] = [];

  constructor(private readonly source: SourceTaskSetup) {
    super(source);
    this.induced = source.source.externallyInducedCheckpoints === true;
  }

  override get watermark(): number {
    return this.emittedWatermark;
  }

  override get inputIdle(): boolean {
    return this.idle;
  }

  get sourceUid(): string {
    return this.source.sourceUid;
  }

  /** The source counts as an operator whose output is what entered the chain. */
  override operatorCounts(): Map<string, OperatorCounts> {
    const counts = super.operatorCounts();
    counts.set(this.sourceUid, { recordsIn: 0, recordsOut: this.recordsIn });
    return counts;
  }

  /** Coordinator: checkpoint N was triggered; place its barrier now (or later, for induced readers). */
  triggerCheckpoint(checkpointId: number): void {
    this.mailbox.post(async () => {
      if (checkpointId <= this.lastBarrier) return; // the reader already placed it
      if (this.induced && !this.readerEnded) {
        this.dueBarriers.add(checkpointId);
        return;
      }
      await this.performCheckpoint(checkpointId);
    });
  }

  /** Coordinator: new splits for this reader (arrive in mailbox order, after earlier barriers). */
  assignSplits(splits: readonly SourceSplit[]): void {
    this.mailbox.post(() => {
      if (this.readerEnded) {
        this.source.coordinator.returnSplits(splits, this.source.subtask);
        return;
      }
      this.reader.addSplits(splits);
    });
  }

  signalNoMoreSplits(): void {
    this.mailbox.post(() => {
      if (!this.readerEnded) this.reader.notifyNoMoreSplits();
    });
  }

  protected wakeInput(): void {}

  protected override async openSource(): Promise<void> {
    const s = this.source;
    this.reader = s.source.createReader({
      jobName: s.jobName,
      sourceUid: s.sourceUid,
      attempt: s.attempt,
      checkpointing: s.checkpointing,
      connectors: s.connectors,
      subtask: s.subtask,
      parallelism: s.parallelism,
      sendSplitRequest: () => s.coordinator.requestSplit(s.subtask),
      count: (metric, delta) => s.services.count(s.sourceUid, metric, delta),
      warn: (message, details) => s.services.warn(`${s.name}[${s.subtask}]: ${message}`, details),
      emitKeyGroupControl: (control) => {
        checkKeyGroupControl(control, s.maxParallelism);
        this.controls.push(control);
        // between polls: out before the next one (the mailbox runs before the reader is polled)
        this.mailbox.post(() => this.emitControls());
      },
    }) as SourceReader<unknown, SourceSplit>;
    if (this.induced && !isExternallyInducedReader(this.reader)) {
      throw new Error(
        `source ${s.sourceUid} declares externally induced checkpoints but its reader has no shouldTriggerCheckpoint()`,
      );
    }
    const restored = s.restoredSplits;
    if (restored !== undefined && restored.length > 0) {
      this.reader.addSplits(
        restored.map((item) => s.source.splitSerializer.fromState(item) as SourceSplit),
      );
    }
    s.coordinator.registerReader(s.subtask);
    await this.reader.start();
  }

  protected override snapshotSource(checkpointId: number): Record<string, OperatorSubtaskState> {
    const splits = this.readerEnded ? [] : this.reader.snapshotState(checkpointId);
    const serializer = this.source.source.splitSerializer;
    return {
      [this.source.sourceUid]: {
        items: splits.map((split) => encodeState(serializer.toState(split))),
        keyGroups: [],
      },
    };
  }

  protected override async notifySourceComplete(checkpointId: number): Promise<void> {
    await this.reader.notifyCheckpointComplete?.(checkpointId);
  }

  protected override async onCheckpointAborted(checkpointId: number): Promise<void> {
    this.dueBarriers.delete(checkpointId);
    await this.reader.notifyCheckpointAborted?.(checkpointId);
  }

  protected override async closeSource(reason: CloseReason): Promise<void> {
    await this.reader?.close(reason);
  }

  protected async loop(): Promise<void> {
    const strategy = this.source.watermarkStrategy;
    const assigner = strategy?.timestampAssigner;
    const idleTimeout = strategy?.idleTimeoutMs;
    while (!this.stopped) {
      if (!this.mailbox.isEmpty) {
        await this.runMailbox();
        continue;
      }
      if (this.finishRequested) return;
      if (this.readerEnded) {
        await this.mailbox.whenNotEmpty();
        continue;
      }
      if (this.isBackpressured()) {
        await this.waitForOutput();
        continue;
      }
      const pause = this.yieldIfBusy();
      if (pause !== undefined) {
        await pause;
        continue;
      }
      const result = this.reader.pollNext();
      if (this.controls.length > 0) await this.emitControls();
      if (result === 'end-of-input') {
        await this.inducedBarriers();
        await this.endReader();
        continue;
      }
      if (result === 'nothing-available') {
        if (await this.inducedBarriers()) continue;
        await this.waitForData(idleTimeout);
        continue;
      }
      const records = result.records;
      if (records.length > 0) {
        if (this.idle) {
          this.idle = false;
          this.chainInput.emitIdle(false);
        }
        this.lastRecordAt = Date.now();
        let timestamps = result.timestamps;
        if (assigner !== undefined) {
          const assigned = new Array<number>(records.length);
          for (let i = 0; i < records.length; i++)
            assigned[i] = assigner(records[i], timestamps?.[i]);
          timestamps = assigned;
        }
        this.recordsIn += records.length;
        this.chainInput.emitBatch(records, timestamps);
        if (strategy?.outOfOrdernessMs !== undefined && timestamps !== undefined) {
          let max = this.maxTimestamp;
          for (const ts of timestamps) if (ts > max) max = ts;
          this.maxTimestamp = max;
          const watermark = max - strategy.outOfOrdernessMs - 1;
          if (watermark > this.emittedWatermark) {
            this.emittedWatermark = watermark;
            this.chainInput.emitWatermark(watermark);
          }
        }
        await this.drainOperators();
      }
      await this.inducedBarriers();
    }
  }

  /** The reader's key group controls, in the order it emitted them. */
  private async emitControls(): Promise<void> {
    const controls = this.controls;
    this.controls = [];
    for (const control of controls) await this.applyKeyGroupControl(control);
  }

  /** Asks an externally induced reader whether a barrier is due here; places it. */
  private async inducedBarriers(): Promise<boolean> {
    if (!this.induced) return false;
    const reader = this.reader as unknown as { shouldTriggerCheckpoint(): number | undefined };
    let placed = false;
    for (
      let id = reader.shouldTriggerCheckpoint();
      id !== undefined;
      id = reader.shouldTriggerCheckpoint()
    ) {
      this.dueBarriers.delete(id);
      await this.performCheckpoint(id);
      placed = true;
    }
    return placed;
  }

  private async waitForData(idleTimeout: number | undefined): Promise<void> {
    // stop() or a post may have come during an await since the loop checked (its wake-up found
    // no waiter then): waiting now would never end
    if (this.stopped || !this.mailbox.isEmpty) return;
    const waits: Promise<void>[] = [this.reader.isAvailable(), this.mailbox.whenNotEmpty()];
    let timer: NodeJS.Timeout | undefined;
    if (idleTimeout !== undefined && !this.idle) {
      const remaining = this.lastRecordAt + idleTimeout - Date.now();
      if (remaining <= 0) {
        this.idle = true;
        this.chainInput.emitIdle(true);
      } else {
        waits.push(new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining))));
      }
    }
    try {
      await Promise.race(waits);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  private async endReader(): Promise<void> {
    this.readerEnded = true;
    if (this.idle) {
      this.idle = false;
      this.chainInput.emitIdle(false);
    }
    this.chainInput.emitWatermark(MAX_WATERMARK);
    await this.drainOperators();
    this.source.coordinator.readerFinished(this.source.subtask);
    await this.endOfInput();
    // externally induced checkpoints whose marker this reader will never see
    for (const id of [...this.dueBarriers].sort((a, b) => a - b)) await this.performCheckpoint(id);
    this.dueBarriers.clear();
  }
}
