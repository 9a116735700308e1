import type { Channel } from './channel.js';
import { keyGroupOf, subtaskForKeyGroup, type Key } from './key-groups.js';
import type { KeyGroupControl } from './key-group-control.js';
import type { Output } from './operator.js';
import { recordBatch, type StreamElement } from './stream-element.js';

/** How records of one edge are spread over the consumer's subtasks. */
export type Partitioning =
  | { readonly kind: 'forward' }
  | { readonly kind: 'rebalance' }
  | {
      readonly kind: 'hash';
      readonly key: (value: unknown) => Key;
      readonly maxParallelism: number;
    };

/** One outgoing edge of a task: the channels to every consumer subtask it feeds. */
export class EdgeOutput {
  private nextChannel: number;

  constructor(
    readonly channels: readonly Channel[],
    private readonly partitioning: Partitioning,
    producerSubtask: number,
    /** Set when the edge carries a side output (its `sideOutputKey`) instead of the main output. */
    readonly sideOutput?: string,
  ) {
    this.nextChannel = producerSubtask % Math.max(1, channels.length);
  }

  emitBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    if (values.length === 0) return;
    const channels = this.channels;
    if (channels.length === 1 || this.partitioning.kind === 'forward') {
      (channels[0] as Channel).push(recordBatch(values, timestamps));
      return;
    }
    if (this.partitioning.kind === 'rebalance') {
      (channels[this.nextChannel] as Channel).push(recordBatch(values, timestamps));
      this.nextChannel = (this.nextChannel + 1) % channels.length;
      return;
    }
    const { key, maxParallelism } = this.partitioning;
    const parallelism = channels.length;
    const parts: unknown[][] = [];
    const partTimestamps: number[][] | undefined = timestamps === undefined ? undefined : [];
    for (let i = 0; i < parallelism; i++) {
      parts.push([]);
      partTimestamps?.push([]);
    }
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const target = subtaskForKeyGroup(
        keyGroupOf(key(value), maxParallelism),
        maxParallelism,
        parallelism,
      );
      (parts[target] as unknown[]).push(value);
      if (partTimestamps !== undefined)
        (partTimestamps[target] as number[]).push(timestamps?.[i] ?? NaN);
    }
    for (let i = 0; i < parallelism; i++) {
      const part = parts[i] as unknown[];
      if (part.length > 0) (channels[i] as Channel).push(recordBatch(part, partTimestamps?.[i]));
    }
  }

  broadcast(element: StreamElement): void {
    for (const channel of this.channels) channel.push(element);
  }
}

/**
 * The network side of a task: every outgoing edge. Also the `Output` of the chain's tail. Main
 * output records go to the edges without a side output, side output records (from any chained
 * operator) to the edges of their side output; every other element goes to all edges.
 */
export class TaskOutput implements Output {
  recordsOut = 0;
  private readonly main: readonly EdgeOutput[];
  private readonly sides = new Map<string, EdgeOutput[]>();

  constructor(private readonly edges: readonly EdgeOutput[]) {
    this.main = edges.filter((edge) => edge.sideOutput === undefined);
    for (const edge of edges) {
      if (edge.sideOutput === undefined) continue;
      let list = this.sides.get(edge.sideOutput);
      if (list === undefined) this.sides.set(edge.sideOutput, (list = []));
      list.push(edge);
    }
  }

  emitBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    this.recordsOut += values.length;
    for (const edge of this.main) edge.emitBatch(values, timestamps);
  }

  /** Records for side output `key` (`sideOutputKey`); dropped when nothing reads that output. */
  emitSideOutput(
    key: string,
    values: readonly unknown[],
    timestamps: readonly number[] | undefined,
  ): void {
    const edges = this.sides.get(key);
    if (edges === undefined) return;
    for (const edge of edges) edge.emitBatch(values, timestamps);
  }

  emitWatermark(timestamp: number): void {
    this.broadcast({ kind: 'watermark', timestamp });
  }

  emitIdle(idle: boolean): void {
    this.broadcast({ kind: 'idle', idle });
  }

  /** To every consumer subtask of every edge, like a watermark. */
  emitKeyGroupControl(control: KeyGroupControl): void {
    this.broadcast({ kind: 'key-groups', control });
  }

  broadcast(element: StreamElement): void {
    for (const edge of this.edges) edge.broadcast(element);
  }

  /** A promise while some channel is full (await it: backpressure), else undefined. */
  backpressure(): Promise<void> | undefined {
    let waits: Promise<void>[] | undefined;
    for (const edge of this.edges) {
      for (const channel of edge.channels) {
        if (channel.isFull) (waits ??= []).push(channel.whenWritable());
      }
    }
    if (waits === undefined) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }
}
