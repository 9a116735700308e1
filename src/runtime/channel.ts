import type { StreamElement } from './stream-element.js';

/** Capacity of one channel: records in flight, and optionally an estimate of their bytes. */
export interface ChannelCapacity {
  readonly records: number;
  readonly bytes: number | undefined;
}

/**
 * A bounded FIFO between one producer subtask and one consumer subtask. `push` never blocks;
 * the producer checks `isFull` after emitting a batch and awaits `whenWritable()`, so memory is
 * bounded by the capacity plus one batch. Control elements (watermarks, barriers, end) are not
 * counted.
 */
export class Channel {
  private items: StreamElement[] = [];
  private head = 0;
  private records = 0;
  private bytes = 0;
  private writable: { promise: Promise<void>; resolve: () => void } | undefined;
  private closed = false;
  /** Called when an element arrives (set by the consumer's input gate). */
  onData: () => void = () => {};

  constructor(private readonly capacity: ChannelCapacity) {}

  push(element: StreamElement): void {
    if (this.closed) return;
    this.items.push(element);
    if (element.kind === 'records') {
      this.records += element.values.length;
      if (this.capacity.bytes !== undefined) this.bytes += estimateBatchBytes(element.values);
    }
    this.onData();
  }

  get isFull(): boolean {
    if (this.closed) return false;
    return (
      this.records >= this.capacity.records ||
      (this.capacity.bytes !== undefined && this.bytes >= this.capacity.bytes)
    );
  }

  /** Resolves once the channel has room again (or is closed). */
  whenWritable(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    if (this.writable === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.writable = { promise, resolve };
    }
    return this.writable.promise;
  }

  get isEmpty(): boolean {
    return this.head >= this.items.length;
  }

  peek(): StreamElement | undefined {
    return this.items[this.head];
  }

  shift(): StreamElement | undefined {
    const element = this.items[this.head];
    if (element === undefined) return undefined;
    this.items[this.head] = undefined as unknown as StreamElement;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (element.kind === 'records') {
      this.records -= element.values.length;
      if (this.capacity.bytes !== undefined) this.bytes -= estimateBatchBytes(element.values);
      // wake the producer once half the room is free, so it refills in larger steps
      if (
        this.writable !== undefined &&
        this.records <= this.capacity.records / 2 &&
        !this.isFull
      ) {
        const { resolve } = this.writable;
        this.writable = undefined;
        resolve();
      }
    }
    return element;
  }

  /** Records currently queued. */
  get queuedRecords(): number {
    return this.records;
  }

  /** Drops everything and releases a waiting producer (job stopping). */
  close(): void {
    this.closed = true;
    this.items = [];
    this.head = 0;
    this.records = 0;
    this.bytes = 0;
    this.writable?.resolve();
    this.writable = undefined;
    this.onData();
  }
}

/** Rough size of a batch: exact for strings and buffers, shallow estimate for objects. */
export function estimateBatchBytes(values: readonly unknown[]): number {
  let total = 0;
  for (const value of values) total += estimateBytes(value, 2);
  return total;
}

function estimateBytes(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2;
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8;
    case 'bigint':
      return 16;
    case 'object': {
      if (value === null) return 8;
      if (value instanceof Uint8Array) return 32 + value.byteLength;
      if (depth === 0) return 64;
      let size = 32;
      if (Array.isArray(value)) {
        for (const item of value) size += estimateBytes(item, depth - 1);
      } else {
        for (const key in value)
          size += 16 + estimateBytes((value as Record<string, unknown>)[key], depth - 1);
      }
      return size;
    }
    default:
      return 16;
  }
}
