import type { SegmentStore } from '../../segment/segment-store.js';
import { SegmentReader, type SegmentEvent, type TruncatedRange } from '../segment-reader.js';
import type { SegmentKey } from './group-state.js';

/**
 * One segment a reader owns: a prefetching {@link SegmentReader}, a queue of fetched events not yet
 * handed out, and the position after the last event handed out (where the segment is released,
 * checkpointed or completed). At most one fetch is outstanding, and only while the queue is
 * empty, so memory stays bounded by the segment reader's prefetch.
 */

export interface ReadEvent<T> {
  readonly value: T;
  /** qualified segment name: `scope/stream/N.#epoch.E` */
  readonly segment: string;
  /** offset of the event in its segment */
  readonly offset: number;
}

export interface OwnedSegmentOptions {
  readonly readSize: number;
  readonly prefetchBytes: number;
}

export class OwnedSegment {
  private readonly reader: SegmentReader;
  private queue: SegmentEvent[] = [];
  private head = 0;
  private ended = false;
  private pulling = false;
  private closed = false;
  /** being released: hand out nothing more */
  frozen = false;
  /** the reader has seen it finished (and asked for its completion) */
  finishNoticed = false;
  position: bigint;
  /** bytes truncated away before this reader read them, not yet reported to the caller */
  truncation: TruncatedRange | undefined;

  constructor(
    store: SegmentStore,
    readonly key: SegmentKey,
    offset: bigint,
    /** the end cut's offset in this segment, if the group ends inside it */
    readonly endOffset: bigint | undefined,
    options: OwnedSegmentOptions,
    private readonly onActivity: () => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.position = offset;
    this.reader = new SegmentReader(store, key, offset, {
      ...(endOffset !== undefined ? { endOffset } : {}),
      readSize: options.readSize,
      prefetchBytes: options.prefetchBytes,
      onTruncated: 'skip',
    });
    this.pull();
  }

  get available(): number {
    return this.queue.length - this.head;
  }

  /** Read to its end and every event handed out. */
  get finished(): boolean {
    return this.ended && this.head >= this.queue.length && this.truncation === undefined;
  }

  /** Reports a gap once: the position moves past it. */
  takeTruncation(): TruncatedRange | undefined {
    const gap = this.truncation;
    if (gap === undefined || this.frozen) return undefined;
    this.truncation = undefined;
    if (gap.to > this.position) this.position = gap.to;
    this.pull();
    return gap;
  }

  pull(): void {
    if (this.pulling || this.ended || this.closed || this.head < this.queue.length) return;
    if (this.truncation !== undefined) return; // reported first
    this.pulling = true;
    this.reader.next().then(
      (batch) => {
        this.pulling = false;
        if (this.closed) return;
        this.queue = batch.events;
        this.head = 0;
        if (batch.truncated !== undefined) this.truncation = batch.truncated;
        if (batch.end) this.ended = true;
        this.onActivity();
      },
      (err: unknown) => {
        this.pulling = false;
        if (!this.closed) this.onError(err);
      },
    );
  }

  /**
   * Hands out up to `max` events into `out`. A payload that fails to deserialize stays at the head
   * of the queue (the position stays before it) and the error is thrown.
   */
  take<T>(max: number, out: ReadEvent<T>[], deserialize: (payload: Buffer) => T): void {
    if (this.frozen) return;
    const end = Math.min(this.queue.length, this.head + max);
    let i = this.head;
    try {
      for (; i < end; i++) {
        const e = this.queue[i]!;
        out.push({ value: deserialize(e.data), segment: this.key, offset: e.offset });
      }
    } finally {
      if (i > this.head) {
        this.position = BigInt(this.queue[i - 1]!.nextOffset);
        this.head = i;
      }
      if (this.head >= this.queue.length) {
        this.queue = [];
        this.head = 0;
        this.pull();
      }
    }
  }

  close(): void {
    this.closed = true;
    this.reader.close();
    this.queue = [];
    this.head = 0;
  }
}
