import type { TransactionReport } from '../sink/sink.js';
import type { StateValue } from '../checkpoint/state-codec.js';
import type { KeyGroupControl } from './key-group-control.js';
import type { CheckpointSettings, ConnectorSettings, CloseReason } from '../source/source.js';

/** Where an operator sends its results: the next chained operator or the network. */
export interface Output {
  emitBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void;
  emitWatermark(timestamp: number): void;
  emitIdle(idle: boolean): void;
  /** Key groups join or leave (see `KeyGroupControl`): in order with the records. */
  emitKeyGroupControl(control: KeyGroupControl): void;
}

/** State restored for one subtask of one operator (already decoded). */
export interface RestoredOperatorState {
  readonly items: readonly StateValue[];
  readonly keyGroups: ReadonlyMap<number, StateValue>;
  /** Where the keyed state pieces that `keyGroups` reference live (durable checkpoints only). */
  readonly piecesDir?: string;
}

/** What an operator snapshot returns (before encoding). */
export interface OperatorSnapshot {
  readonly items?: readonly StateValue[];
  readonly keyGroups?: ReadonlyMap<number, StateValue>;
  /**
   * Keyed state still being written off the task's hot path: the task sends the barrier on at
   * once and acknowledges the checkpoint when this resolves with the key groups to record (they
   * replace `keyGroups`); a rejection declines the checkpoint.
   */
  readonly pending?: Promise<ReadonlyMap<number, StateValue>>;
}

/** What the runtime offers an operator. */
export interface OperatorContext {
  readonly uid: string;
  readonly name: string;
  readonly jobName: string;
  readonly runId: string;
  readonly attempt: number;
  readonly checkpointing: CheckpointSettings;
  readonly connectors: ConnectorSettings;
  readonly subtask: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly restored: RestoredOperatorState | undefined;
  /** see `ExecuteOptions.allowDuplicates` */
  readonly allowDuplicates: boolean;
  /** Runs `action` on the task's own loop (timers, async callbacks). */
  post(action: () => void | Promise<void>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  /**
   * Emits records to the operator's side output `tagId` (declared by its transformation); they go
   * straight to the tasks that read `getSideOutput(tag)`, or nowhere when none does.
   */
  emitSideOutput(
    tagId: string,
    values: readonly unknown[],
    timestamps: readonly number[] | undefined,
  ): void;
  /** Adds to a named counter shown in metrics events (e.g. late records dropped). */
  count(metric: string, delta: number): void;
  /** A sink's transaction changed state (a `transaction` job event). */
  reportTransaction(report: TransactionReport): void;
}

/**
 * A chained operator. Every call happens on its task's loop, one at a time. `processBatch` is
 * synchronous (no promise per record); an operator that must wait (a sink) returns its pending
 * work from `pendingWork`, which the task awaits before the next input.
 */
export abstract class StreamOperator {
  protected output!: Output;
  protected ctx!: OperatorContext;

  setup(ctx: OperatorContext, output: Output): void {
    this.ctx = ctx;
    this.output = output;
  }

  open(): void | Promise<void> {}

  abstract processBatch(
    values: readonly unknown[],
    timestamps: readonly number[] | undefined,
  ): void;

  processWatermark(timestamp: number): void {
    this.output.emitWatermark(timestamp);
  }

  processIdle(idle: boolean): void {
    this.output.emitIdle(idle);
  }

  /** Key groups join or leave: operators without keyed state pass it on untouched. */
  processKeyGroupControl(control: KeyGroupControl): void {
    this.output.emitKeyGroupControl(control);
  }

  /** Work still in flight (e.g. an async sink write), or undefined. */
  pendingWork(): Promise<void> | undefined {
    return undefined;
  }

  snapshotState(_checkpointId: number): OperatorSnapshot | Promise<OperatorSnapshot> {
    return {};
  }

  notifyCheckpointComplete(_checkpointId: number): void | Promise<void> {}

  notifyCheckpointAborted(_checkpointId: number): void | Promise<void> {}

  /** All input has been processed (bounded job). */
  endInput(): void | Promise<void> {}

  close(_reason: CloseReason): void | Promise<void> {}
}

/** Feeds the next chained operator and counts what passes. */
export class ChainingOutput implements Output {
  records = 0;

  constructor(private readonly next: StreamOperator) {}

  emitBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    if (values.length === 0) return;
    this.records += values.length;
    this.next.processBatch(values, timestamps);
  }

  emitWatermark(timestamp: number): void {
    this.next.processWatermark(timestamp);
  }

  emitIdle(idle: boolean): void {
    this.next.processIdle(idle);
  }

  emitKeyGroupControl(control: KeyGroupControl): void {
    this.next.processKeyGroupControl(control);
  }
}

/** Collects output of one call into arrays, emitted as one batch. */
export class BatchCollector<T> {
  values: T[] = [];
  timestamps: number[] | undefined;

  collect(value: T, timestamp?: number): void {
    if (timestamp !== undefined && this.timestamps === undefined) {
      this.timestamps = new Array<number>(this.values.length).fill(NaN);
    }
    this.values.push(value);
    this.timestamps?.push(timestamp ?? NaN);
  }

  flushTo(output: Output): void {
    if (this.values.length === 0) return;
    output.emitBatch(this.values, this.timestamps);
    this.values = [];
    this.timestamps = undefined;
  }
}
