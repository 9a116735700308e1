import { TributaryError, errorMessage } from '../../errors.js';
import { EventParser } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';

/**
 * Reads the events of one segment from an offset, prefetching: the next read is issued as soon
 * as the previous one returns, while fewer than `prefetchBytes` are buffered. At the tail of an
 * open segment the read waits on the server (long poll); a caller that must not wait passes a
 * signal to {@link next} — the outstanding read stays, so no data is lost or fetched twice.
 * Events split across reads are reassembled.
 *
 * Truncation: a read below the segment's start offset fails with SEGMENT_TRUNCATED. With
 * `onTruncated: 'skip'` the reader instead hands out every complete event it has from before the
 * gap, then one batch that reports the gap (`truncated`), then continues at the start offset — the
 * Java reader's TruncatedDataException, as a value. The caller decides whether that is fatal.
 */

export interface SegmentEvent {
  readonly data: Buffer;
  /** offset of the event in its segment */
  readonly offset: number;
  /** offset just after it: where reading resumes */
  readonly nextOffset: number;
}

export interface SegmentBatch {
  readonly events: SegmentEvent[];
  /** the segment was read to its end (sealed, or the end offset was reached) */
  readonly end: boolean;
  /** the bytes in [from, to) were truncated away before they were read (no events come with it) */
  readonly truncated?: TruncatedRange;
}

export interface TruncatedRange {
  readonly from: bigint;
  readonly to: bigint;
}

export interface SegmentReaderOptions {
  /** stop at this offset (exclusive); default: read until the segment is sealed */
  readonly endOffset?: bigint;
  readonly readSize?: number;
  readonly prefetchBytes?: number;
  /** what a read below the segment's start offset does (default `'fail'`) */
  readonly onTruncated?: 'fail' | 'skip';
}

export class SegmentReader {
  private readonly parser: EventParser;
  private fetchOffset: bigint;
  private readonly endOffset: bigint | undefined;
  private readonly readSize: number;
  private readonly prefetchBytes: number;
  private buffered: SegmentEvent[] = [];
  private bufferedBytes = 0;
  private fetching: Promise<void> | undefined;
  private reachedEnd = false;
  private failure: Error | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  private returnedOffset: number;
  private readonly skipTruncated: boolean;
  /** a gap found by a read, reported once the events before it are handed out */
  private gap: TruncatedRange | undefined;

  constructor(
    private readonly store: SegmentStore,
    readonly segment: string,
    startOffset: bigint,
    options: SegmentReaderOptions = {},
  ) {
    this.parser = new EventParser(startOffset);
    this.fetchOffset = startOffset;
    this.returnedOffset = Number(startOffset);
    this.endOffset = options.endOffset;
    this.readSize = options.readSize ?? 1024 * 1024;
    this.prefetchBytes = options.prefetchBytes ?? 4 * 1024 * 1024;
    this.skipTruncated = options.onTruncated === 'skip';
    if (this.endOffset !== undefined && this.endOffset <= startOffset) this.reachedEnd = true;
    this.prefetch();
  }

  /** Offset after the last event handed out by {@link next}. */
  get position(): bigint {
    return BigInt(this.returnedOffset);
  }

  get isAtEnd(): boolean {
    return this.reachedEnd && this.buffered.length === 0 && this.gap === undefined;
  }

  private prefetch(): void {
    if (this.fetching || this.reachedEnd || this.closed || this.failure !== undefined) return;
    if (this.gap !== undefined) return; // resumes once the gap is reported
    if (this.bufferedBytes >= this.prefetchBytes) return;
    let length = this.readSize;
    if (this.endOffset !== undefined) {
      const left = this.endOffset - this.fetchOffset;
      if (left < BigInt(length)) length = Number(left);
    }
    const offset = this.fetchOffset;
    this.fetching = this.store
      .read(this.segment, offset, length, this.abort.signal)
      .then(
        (result) => {
          this.fetching = undefined;
          if (this.closed) return;
          if (result.data.length > 0) {
            this.parser.push(
              result.data,
              (data, eventOffset, nextOffset) => {
                this.buffered.push({ data, offset: eventOffset, nextOffset });
                this.bufferedBytes += data.length;
              },
              offset,
            );
            this.fetchOffset = offset + BigInt(result.data.length);
          }
          const atEndOffset = this.endOffset !== undefined && this.fetchOffset >= this.endOffset;
          if (result.endOfSegment || atEndOffset) {
            if (this.parser.hasPartialEvent) {
              throw new TributaryError(
                'DECODE_ERROR',
                `segment ${this.segment} ends inside an event at offset ${this.parser.offset}`,
              );
            }
            this.reachedEnd = true;
          }
          this.prefetch();
        },
        (err: unknown) => {
          this.fetching = undefined;
          if (this.closed) return;
          const startOffset = truncatedAt(err);
          if (this.skipTruncated && startOffset !== undefined && startOffset > offset) {
            this.skipTo(startOffset);
          } else {
            this.failure = asError(err);
          }
        },
      )
      .catch((err: unknown) => {
        this.fetching = undefined;
        this.failure = asError(err);
      });
  }

  /** The bytes from the first one not yet parsed into an event up to `startOffset` are gone. */
  private skipTo(startOffset: bigint): void {
    const from = BigInt(this.parser.offset);
    // what lies beyond the end offset is not this reader's to report
    const to =
      this.endOffset !== undefined && startOffset > this.endOffset ? this.endOffset : startOffset;
    this.gap = { from, to };
    this.parser.reset(to);
    this.fetchOffset = to;
    if (this.endOffset !== undefined && to >= this.endOffset) this.reachedEnd = true;
  }

  /**
   * The buffered events, waiting for at least one unless the segment ended; `wait` bounds the wait
   * (an empty, non-final batch comes back when it fires).
   */
  async next(wait?: AbortSignal): Promise<SegmentBatch> {
    for (;;) {
      if (this.buffered.length > 0) {
        const events = this.buffered;
        this.buffered = [];
        this.bufferedBytes = 0;
        this.returnedOffset = events[events.length - 1]!.nextOffset;
        this.prefetch();
        return { events, end: this.reachedEnd && !this.fetching && this.gap === undefined };
      }
      const gap = this.gap;
      if (gap !== undefined) {
        this.gap = undefined;
        this.returnedOffset = Number(gap.to);
        this.prefetch();
        return { events: [], end: this.reachedEnd && !this.fetching, truncated: gap };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.reachedEnd) return { events: [], end: true };
      if (this.closed) throw new TributaryError('CLOSED', `reader of ${this.segment} is closed`);
      this.prefetch();
      const fetching = this.fetching;
      if (!fetching) continue;
      if (wait === undefined) {
        await fetching;
        continue;
      }
      if (wait.aborted) return { events: [], end: false };
      const aborted = new Promise<'aborted'>((resolve) =>
        wait.addEventListener('abort', () => resolve('aborted'), { once: true }),
      );
      if ((await Promise.race([fetching, aborted])) === 'aborted')
        return { events: [], end: false };
    }
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
  }
}

/** The segment's start offset when `err` says a read fell below it. */
function truncatedAt(err: unknown): bigint | undefined {
  if (!TributaryError.is(err) || err.code !== 'SEGMENT_TRUNCATED') return undefined;
  const start = err.details['startOffset'];
  return typeof start === 'bigint' ? start : undefined;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new TributaryError('INTERNAL', errorMessage(err));
}
