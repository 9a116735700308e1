import { TributaryError, errorMessage } from '../../errors.js';
import { EVENT_HEADER_SIZE, EventParser } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';

/**
 * Reads the events of one segment from an offset, prefetching: the next read is issued as soon
 * as the previous one returns, while fewer than `prefetchBytes` are buffered. At the tail of an
 * open segment the read waits on the server (long poll); a caller that must not wait passes a
 * signal to {@link next} — the outstanding read stays, so no data is lost or fetched twice.
 * Events split across reads are reassembled. Fetched bytes are parsed into events only as they
 * are handed out (a slice of at most `PARSE_SLICE` bytes at a time), so that the prefetched data
 * is held as a few large buffers, not as an object per event that outlives V8's young generation.
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

/**
 * The events of a {@link SegmentBatch} without an object per event: their payloads, back to back
 * in the segment. The event `i` starts at `offset` + Σ_{j<i} (8 + `payloads[j].length`) (an
 * 8-byte header precedes each payload); `nextOffset` is where the next event starts.
 */
export interface SegmentRun {
  readonly payloads: Buffer[];
  /** offset of the first event (when there is none: where reading resumes) */
  readonly offset: number;
  /** offset just after the last event: where reading resumes */
  readonly nextOffset: number;
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

/** bytes parsed into events per step of {@link SegmentReader.next} (~2 400 events of 100 B) */
const PARSE_SLICE = 256 * 1024;

export class SegmentReader {
  private readonly parser: EventParser;
  private fetchOffset: bigint;
  private readonly endOffset: bigint | undefined;
  private readonly readSize: number;
  private readonly prefetchBytes: number;
  /** parsed events not handed out yet: their payloads, the first at `returnedOffset` */
  private buffered: Buffer[] = [];
  /** offset just after the last buffered event */
  private bufferedEnd: number;
  /** fetched bytes not yet parsed: `raw[0]` from `rawPos` on, then the others whole */
  private raw: Buffer[] = [];
  private rawPos = 0;
  /** bytes fetched and not handed out yet (unparsed, or parsed and buffered) */
  private bufferedBytes = 0;
  /** segment offset of the first unparsed fetched byte */
  private parseOffset: number;
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
    this.parseOffset = Number(startOffset);
    this.bufferedEnd = this.returnedOffset;
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
    return (
      this.reachedEnd &&
      this.buffered.length === 0 &&
      this.raw.length === 0 &&
      this.gap === undefined
    );
  }

  private prefetch(): void {
    if (this.fetching || this.reachedEnd || this.closed || this.failure !== undefined) return;
    if (this.gap !== undefined) return; // resumes once the gap is reported
    // the start of an event still being fetched does not count: it may be larger than the limit
    if (this.bufferedBytes - this.parser.bufferedBytes >= this.prefetchBytes) return;
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
            this.raw.push(result.data);
            this.bufferedBytes += result.data.length;
            this.fetchOffset = offset + BigInt(result.data.length);
          }
          const atEndOffset = this.endOffset !== undefined && this.fetchOffset >= this.endOffset;
          if (result.endOfSegment || atEndOffset) {
            // whether the last bytes end with a whole event is checked once they are parsed
            this.reachedEnd = true;
            if (this.raw.length === 0) this.checkWholeEnd();
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

  /**
   * Parses fetched bytes into {@link buffered} events: one slice of at most {@link PARSE_SLICE}
   * bytes per call. A corrupt event throws DECODE_ERROR (the reader fails).
   */
  private parseSlice(): void {
    const chunk = this.raw[0];
    if (chunk === undefined) return;
    const from = this.rawPos;
    const to = Math.min(chunk.length, from + PARSE_SLICE);
    const at = this.parseOffset;
    this.parseOffset = at + (to - from);
    if (to === chunk.length) {
      this.raw.shift();
      this.rawPos = 0;
    } else {
      this.rawPos = to;
    }
    try {
      const before = this.buffered.length;
      try {
        this.parser.pushInto(
          from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to),
          this.buffered,
          at,
        );
      } finally {
        // the events parsed before a corrupt one are handed out first
        if (this.buffered.length > before) this.bufferedEnd = this.parser.offset;
      }
      if (this.reachedEnd && this.raw.length === 0) this.checkWholeEnd();
    } catch (err) {
      this.failure ??= asError(err);
      this.raw = [];
      this.rawPos = 0;
      throw err;
    }
  }

  /** At the end of the segment (or the end offset): the bytes must end with a whole event. */
  private checkWholeEnd(): void {
    if (this.parser.hasPartialEvent) {
      throw new TributaryError(
        'DECODE_ERROR',
        `segment ${this.segment} ends inside an event at offset ${this.parser.offset}`,
      );
    }
  }

  private parseAll(): void {
    while (this.raw.length > 0) this.parseSlice();
  }

  /** The bytes from the first one not yet parsed into an event up to `startOffset` are gone. */
  private skipTo(startOffset: bigint): void {
    // the events before the gap are handed out first
    this.parseAll();
    const from = BigInt(this.parser.offset);
    // what lies beyond the end offset is not this reader's to report
    const to =
      this.endOffset !== undefined && startOffset > this.endOffset ? this.endOffset : startOffset;
    this.gap = { from, to };
    this.parser.reset(to);
    this.parseOffset = Number(to);
    this.fetchOffset = to;
    if (this.endOffset !== undefined && to >= this.endOffset) this.reachedEnd = true;
  }

  /**
   * The buffered events, waiting for at least one unless the segment ended; `wait` bounds the wait
   * (an empty, non-final batch comes back when it fires).
   */
  async next(wait?: AbortSignal): Promise<SegmentBatch> {
    const run = await this.nextRun(wait);
    const events: SegmentEvent[] = [];
    let offset = run.offset;
    for (const data of run.payloads) {
      const nextOffset = offset + EVENT_HEADER_SIZE + data.length;
      events.push({ data, offset, nextOffset });
      offset = nextOffset;
    }
    return run.truncated === undefined
      ? { events, end: run.end }
      : { events, end: run.end, truncated: run.truncated };
  }

  /** As {@link next}, the events as one {@link SegmentRun} (no object per event). */
  async nextRun(wait?: AbortSignal): Promise<SegmentRun> {
    for (;;) {
      while (this.buffered.length === 0 && this.raw.length > 0) this.parseSlice();
      if (this.buffered.length > 0) {
        const payloads = this.buffered;
        const offset = this.returnedOffset;
        const nextOffset = this.bufferedEnd;
        this.buffered = [];
        // the unparsed bytes, and the start of an event split across slices, stay buffered
        this.bufferedBytes -= nextOffset - offset;
        this.returnedOffset = nextOffset;
        this.prefetch();
        return {
          payloads,
          offset,
          nextOffset,
          end: this.reachedEnd && !this.fetching && this.gap === undefined && this.raw.length === 0,
        };
      }
      const at = this.returnedOffset;
      const gap = this.gap;
      if (gap !== undefined) {
        this.gap = undefined;
        this.returnedOffset = Number(gap.to);
        this.bufferedEnd = this.returnedOffset;
        this.bufferedBytes = 0;
        this.prefetch();
        return {
          payloads: [],
          offset: at,
          nextOffset: at,
          end: this.reachedEnd && !this.fetching,
          truncated: gap,
        };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.reachedEnd) return { payloads: [], offset: at, nextOffset: at, end: true };
      if (this.closed) throw new TributaryError('CLOSED', `reader of ${this.segment} is closed`);
      this.prefetch();
      const fetching = this.fetching;
      if (!fetching) continue;
      if (wait === undefined) {
        await fetching;
        continue;
      }
      if (wait.aborted) return { payloads: [], offset: at, nextOffset: at, end: false };
      const aborted = new Promise<'aborted'>((resolve) =>
        wait.addEventListener('abort', () => resolve('aborted'), { once: true }),
      );
      if ((await Promise.race([fetching, aborted])) === 'aborted')
        return { payloads: [], offset: at, nextOffset: at, end: false };
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
