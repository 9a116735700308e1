import type { SegmentStore } from '../../segment/segment-store.js';
import { EVENT_HEADER_SIZE } from '../../protocol/index.js';
import { SegmentReader, type TruncatedRange } from '../segment-reader.js';
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

/**
 * Events of one segment handed out without an object per event: their payloads, back to back from
 * `offset` (the event `i` starts at `offset` + Σ_{j<i} (8 + `payloads[j].length`)).
 */
export interface PayloadRun {
  /** qualified segment name: `scope/stream/N.#epoch.E` */
  readonly segment: string;
  /** offset of the first event in its segment */
  readonly offset: number;
  readonly payloads: Buffer[];
}

export interface OwnedSegmentOptions {
  readonly readSize: number;
  readonly prefetchBytes: number;
}

export class OwnedSegment {
  private readonly reader: SegmentReader;
  /** fetched payloads; the one at `head` starts at `headOffset` */
  private queue: Buffer[] = [];
  private head = 0;
  private headOffset = 0;
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
    this.reader.nextRun().then(
      (batch) => {
        this.pulling = false;
        if (this.closed) return;
        this.queue = batch.payloads;
        this.head = 0;
        this.headOffset = batch.offset;
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
    let offset = this.headOffset;
    try {
      for (; i < end; i++) {
        const data = this.queue[i]!;
        out.push({ value: deserialize(data), segment: this.key, offset });
        offset += EVENT_HEADER_SIZE + data.length;
      }
    } finally {
      this.advance(i, offset);
    }
  }

  /** Hands out up to `max` events as their payloads (no object per event); null when none. */
  takeRun(max: number): PayloadRun | null {
    if (this.frozen || this.head >= this.queue.length) return null;
    const offset = this.headOffset;
    let payloads: Buffer[];
    let next = offset;
    if (this.head === 0 && this.queue.length <= max) {
      payloads = this.queue;
      for (const data of payloads) next += EVENT_HEADER_SIZE + data.length;
    } else {
      const end = Math.min(this.queue.length, this.head + max);
      payloads = this.queue.slice(this.head, end);
      for (const data of payloads) next += EVENT_HEADER_SIZE + data.length;
    }
    this.advance(this.head + payloads.length, next);
    return { segment: this.key, offset, payloads };
  }

  /** The events before `i` were handed out; the one at `i` starts at `offset`. */
  private advance(i: number, offset: number): void {
    if (i > this.head) {
      this.position = BigInt(offset);
      this.head = i;
      this.headOffset = offset;
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.pull();
    }
  }

  close(): void {
    this.closed = true;
    this.reader.close();
    this.queue = [];
    this.head = 0;
  }
}
