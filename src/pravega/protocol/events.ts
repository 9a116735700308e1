// the module's Buffer, not the global one: in Node the global is an accessor, called on each use
import { Buffer } from 'node:buffer';
import { TributaryError } from '../../errors.js';
import { ByteQueue } from './byte-queue.js';
import {
  EVENT_HEADER_SIZE,
  EVENT_TYPE_CODE,
  HEADER_SIZE,
  LONG_MAX,
  LONG_MIN,
  MAX_EVENT_SIZE,
  MAX_FRAME,
  WireCommandType,
} from './constants.js';
import { isUuidText, writeUuidBytes } from './wire-writer.js';

/**
 * Event framing. Inside appends and in segment data every event is `int32 0, int32 length,
 * payload` (the server stores the framed bytes verbatim), with a payload of at most
 * `MAX_EVENT_SIZE` (8 MiB).
 */

function tooLarge(length: number): TributaryError {
  return new TributaryError(
    'EVENT_TOO_LARGE',
    `event of ${length} bytes exceeds the ${MAX_EVENT_SIZE}-byte limit`,
    { details: { size: length, maxSize: MAX_EVENT_SIZE } },
  );
}

/** Throws EVENT_TOO_LARGE for a payload over `MAX_EVENT_SIZE`. */
export function checkEventSize(length: number): void {
  if (length > MAX_EVENT_SIZE) throw tooLarge(length);
}

/** Bytes an event of `payloadLength` takes once framed. */
export function framedEventSize(payloadLength: number): number {
  return EVENT_HEADER_SIZE + payloadLength;
}

/**
 * Writes `[0][length][payload]` at `offset`; returns the offset after it. The caller sized
 * `target` (see {@link framedEventSize}) and checked the payload size.
 */
export function writeFramedEvent(target: Buffer, offset: number, payload: Uint8Array): number {
  target.writeInt32BE(EVENT_TYPE_CODE, offset);
  target.writeInt32BE(payload.length, offset + 4);
  target.set(payload, offset + EVENT_HEADER_SIZE);
  return offset + EVENT_HEADER_SIZE + payload.length;
}

function totalFramedSize(payloads: readonly Uint8Array[]): number {
  let total = 0;
  for (const p of payloads) {
    if (p.length > MAX_EVENT_SIZE) throw tooLarge(p.length);
    total += EVENT_HEADER_SIZE + p.length;
  }
  return total;
}

/** The framed bytes of `payloads`, in one pre-sized buffer (each payload copied once). */
export function frameEvents(payloads: readonly Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(totalFramedSize(payloads));
  let p = 0;
  for (const payload of payloads) p = writeFramedEvent(out, p, payload);
  return out;
}

export interface EventAppend {
  readonly writerId: string;
  /** event payloads, framed by the encoder */
  readonly events: readonly Uint8Array[];
  /** the event number of the last event */
  readonly lastEventNumber: bigint;
  readonly requestId: bigint;
  /** defaults to `events.length`; must be > 0 */
  readonly numEvents?: number;
}

/** Fixed bytes of an AppendBlockEnd frame around its data: header 8 + 16 + 4 + 4 + 4 + 8 + 8. */
const APPEND_BLOCK_END_OVERHEAD = HEADER_SIZE + 44;

/** Largest total of framed events one {@link encodeEventAppend} frame can carry. */
export const MAX_APPEND_DATA = MAX_FRAME - APPEND_BLOCK_END_OVERHEAD;

function checkLong(value: bigint, field: string): void {
  if (typeof value !== 'bigint' || value < LONG_MIN || value > LONG_MAX) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `${field} must be a 64-bit bigint`);
  }
}

/**
 * The writer's hot path: one complete `AppendBlockEnd` frame (no preceding AppendBlock) carrying
 * `events` framed, built in a single pre-sized buffer with each payload copied exactly once.
 * `sizeOfWholeEvents` = data length. Same bytes as `encodeCommand({ type: 'appendBlockEnd', … })`
 * with `data = frameEvents(events)`.
 */
export function encodeEventAppend(append: EventAppend): Buffer {
  const { writerId, events, lastEventNumber, requestId } = append;
  const numEvents = append.numEvents ?? events.length;
  if (!isUuidText(writerId)) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `writerId ${JSON.stringify(writerId)} is not a UUID`,
    );
  }
  if (!Number.isInteger(numEvents) || numEvents <= 0 || numEvents > 0x7fffffff) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `numEvents must be a positive int32, got ${numEvents}`,
    );
  }
  checkLong(lastEventNumber, 'lastEventNumber');
  checkLong(requestId, 'requestId');
  const dataLength = totalFramedSize(events);
  if (dataLength > MAX_APPEND_DATA) {
    throw new TributaryError(
      'FRAME_TOO_LARGE',
      `an append of ${dataLength} framed bytes exceeds the ${MAX_APPEND_DATA}-byte limit of one frame`,
      { details: { frameSize: dataLength + APPEND_BLOCK_END_OVERHEAD, maxFrameSize: MAX_FRAME } },
    );
  }
  const out = Buffer.allocUnsafe(APPEND_BLOCK_END_OVERHEAD + dataLength);
  out.writeInt32BE(WireCommandType.APPEND_BLOCK_END, 0);
  out.writeInt32BE(out.length - HEADER_SIZE, 4);
  writeUuidBytes(out, 8, writerId);
  out.writeInt32BE(dataLength, 24); // sizeOfWholeEvents
  out.writeInt32BE(dataLength, 28);
  let p = 32;
  for (const payload of events) p = writeFramedEvent(out, p, payload);
  out.writeInt32BE(numEvents, p);
  out.writeBigInt64BE(lastEventNumber, p + 4);
  out.writeBigInt64BE(requestId, p + 12);
  return out;
}

/**
 * The 24-byte start of an `AppendBlock` frame announcing `blockSize` bytes of block contents that
 * the caller writes next (whole framed events, then optionally one PartialEvent or Padding frame).
 * The frame length is 16 + blockSize.
 */
export function encodeAppendBlockHeader(writerId: string, blockSize: number): Buffer {
  if (!isUuidText(writerId)) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `writerId ${JSON.stringify(writerId)} is not a UUID`,
    );
  }
  if (!Number.isInteger(blockSize) || blockSize < 0) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `blockSize must be a byte count, got ${blockSize}`,
    );
  }
  if (HEADER_SIZE + 16 + blockSize > MAX_FRAME) {
    throw new TributaryError(
      'FRAME_TOO_LARGE',
      `AppendBlock of ${blockSize} bytes exceeds the ${MAX_FRAME}-byte frame limit`,
    );
  }
  const out = Buffer.allocUnsafe(HEADER_SIZE + 16);
  out.writeInt32BE(WireCommandType.APPEND_BLOCK, 0);
  out.writeInt32BE(16 + blockSize, 4);
  writeUuidBytes(out, 8, writerId);
  return out;
}

const EMPTY_PAYLOAD = Buffer.alloc(0);

/** One event parsed from segment data. */
export interface ParsedEvent {
  /** the payload: a view of the pushed data when the event arrived in one piece, else a copy */
  readonly data: Buffer;
  /** segment offset of the event's header */
  readonly offset: number;
  /** segment offset just after the event: where a reader resumes */
  readonly nextOffset: number;
}

function toOffset(value: number | bigint, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (!Number.isSafeInteger(n) || n < 0 || (typeof value === 'bigint' && BigInt(n) !== value)) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `${what} ${String(value)} is not a valid offset`);
  }
  return n;
}

/**
 * Re-frames events from consecutive segment data (the `data` of successive SegmentRead replies),
 * which may split events anywhere. Each event must have type 0 and a length of 0..8 MiB; anything
 * else is a DECODE_ERROR, after which the parser is failed until {@link reset}.
 *
 * Offsets are plain numbers (safe integers, i.e. segments under 8 PiB) to keep the read path free
 * of bigint arithmetic; convert from the wire's bigint with `Number()`, or pass it in directly.
 */
export class EventParser {
  private readonly queue = new ByteQueue();
  /** offset of the first buffered byte (= after the last event returned) */
  private position: number;
  /** payload length of an event whose header was consumed, or −1 */
  private pendingLength = -1;
  private failure: TributaryError | undefined;

  constructor(startOffset: number | bigint = 0) {
    this.position = toOffset(startOffset, 'startOffset');
  }

  /** Where the next unreturned event starts: the reader's position. */
  get offset(): number {
    return this.position;
  }

  /** The segment offset just after the last byte pushed. */
  get receivedOffset(): number {
    return this.position + this.bufferedBytes;
  }

  /** Bytes of an incomplete event held back. */
  get bufferedBytes(): number {
    return this.queue.length + (this.pendingLength >= 0 ? EVENT_HEADER_SIZE : 0);
  }

  /** True when the bytes pushed so far end inside an event. */
  get hasPartialEvent(): boolean {
    return this.bufferedBytes > 0;
  }

  /** Drops any partial event and continues at `offset` (e.g. after seeking or a reconnect). */
  reset(offset: number | bigint): void {
    this.position = toOffset(offset, 'offset');
    this.queue.clear();
    this.pendingLength = -1;
    this.failure = undefined;
  }

  /**
   * Feeds the next bytes of the segment and returns the events they complete, in order. If the
   * data turns out corrupt, the events before the corruption are lost with the thrown error; use
   * {@link push} to receive them first.
   */
  parse(data: Buffer, at?: number | bigint): ParsedEvent[] {
    const events: ParsedEvent[] = [];
    this.push(
      data,
      (eventData, offset, nextOffset) => events.push({ data: eventData, offset, nextOffset }),
      at,
    );
    return events;
  }

  /**
   * Feeds the next bytes of the segment; calls `onEvent` for each completed event, in order, as
   * soon as it is parsed (no object is allocated per event beyond the payload view). `at`, when
   * given, must be the segment offset of `data[0]` (i.e. {@link receivedOffset}); a gap or
   * overlap is an ILLEGAL_ARGUMENT.
   */
  push(
    data: Buffer,
    onEvent: (data: Buffer, offset: number, nextOffset: number) => void,
    at?: number | bigint,
  ): void {
    this.checkContinues(at);
    const q = this.queue;
    if (q.length === 0 && this.pendingLength < 0) {
      // nothing held back: the events lying whole in `data` are parsed straight from it
      const parsed = this.pushWhole(data, onEvent);
      if (parsed === data.length) return;
      q.push(parsed === 0 ? data : data.subarray(parsed));
    } else {
      q.push(data);
    }
    this.drain(onEvent);
  }

  /**
   * As {@link push}, the payloads appended to `out` (no call per event); {@link offset} is then
   * the segment offset just after the last of them. A corrupt event throws DECODE_ERROR after the
   * payloads before it were appended.
   */
  pushInto(data: Buffer, out: Buffer[], at?: number | bigint): void {
    this.checkContinues(at);
    const q = this.queue;
    if (q.length === 0 && this.pendingLength < 0) {
      const parsed = this.wholeInto(data, out);
      if (parsed === data.length) return;
      q.push(parsed === 0 ? data : data.subarray(parsed));
    } else {
      q.push(data);
    }
    this.drain((payload) => out.push(payload), out);
  }

  private checkContinues(at: number | bigint | undefined): void {
    if (this.failure !== undefined) throw this.failure;
    if (at !== undefined && toOffset(at, 'at') !== this.receivedOffset) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `segment data at offset ${String(at)} does not continue at ${this.receivedOffset}`,
      );
    }
  }

  /**
   * Hands out the events completed by what the byte queue holds (the general path); past a
   * held-back event, whole events go to `out` when given (as {@link wholeInto}), else to `onEvent`.
   */
  private drain(
    onEvent: (data: Buffer, offset: number, nextOffset: number) => void,
    out?: Buffer[],
  ): void {
    const q = this.queue;
    for (;;) {
      if (this.pendingLength < 0) {
        if (q.length < EVENT_HEADER_SIZE) return;
        // past the held-back event, the rest lies in one pushed buffer: parsed straight from it
        const rest = q.takeAllIfContiguous();
        if (rest !== undefined) {
          const parsed =
            out === undefined ? this.pushWhole(rest, onEvent) : this.wholeInto(rest, out);
          if (parsed < rest.length) q.push(parsed === 0 ? rest : rest.subarray(parsed));
          return;
        }
        const type = q.int32At(0);
        const length = q.int32At(4);
        if (type !== EVENT_TYPE_CODE) {
          throw this.fail(
            `expected an event (type 0) at offset ${this.position}, found type ${type}`,
          );
        }
        if (length < 0 || length > MAX_EVENT_SIZE) {
          throw this.fail(`event at offset ${this.position} has an invalid length ${length}`);
        }
        q.skip(EVENT_HEADER_SIZE);
        this.pendingLength = length;
      }
      if (q.length < this.pendingLength) return;
      const eventData = q.take(this.pendingLength);
      const offset = this.position;
      this.position = offset + EVENT_HEADER_SIZE + this.pendingLength;
      this.pendingLength = -1;
      onEvent(eventData, offset, this.position);
    }
  }

  /**
   * Hands out the whole events at the start of `data` (the parser holding nothing back); returns
   * how many bytes they took. The same checks as the general path, without the byte queue.
   */
  private pushWhole(
    data: Buffer,
    onEvent: (data: Buffer, offset: number, nextOffset: number) => void,
  ): number {
    const n = data.length;
    // payload views are made from the backing store directly: `subarray` would read
    // `data.buffer` (a runtime call) and go through a subclass constructor for each event
    const backing = data.buffer;
    const base = data.byteOffset;
    let p = 0;
    while (p + EVENT_HEADER_SIZE <= n) {
      const length = this.wholeEventLength(data, p);
      const start = p + EVENT_HEADER_SIZE;
      const end = start + length;
      if (end > n) break;
      const offset = this.position;
      this.position = offset + EVENT_HEADER_SIZE + length;
      p = end;
      try {
        onEvent(
          length === 0 ? EMPTY_PAYLOAD : Buffer.from(backing, base + start, length),
          offset,
          this.position,
        );
      } catch (err) {
        // as on the general path: what follows stays buffered
        this.queue.push(data.subarray(p));
        throw err;
      }
    }
    return p;
  }

  /** As {@link pushWhole}, the payloads appended to `out`. */
  private wholeInto(data: Buffer, out: Buffer[]): number {
    const n = data.length;
    const backing = data.buffer;
    const base = data.byteOffset;
    let p = 0;
    while (p + EVENT_HEADER_SIZE <= n) {
      const length = this.wholeEventLength(data, p);
      const start = p + EVENT_HEADER_SIZE;
      const end = start + length;
      if (end > n) break;
      this.position += EVENT_HEADER_SIZE + length;
      p = end;
      out.push(length === 0 ? EMPTY_PAYLOAD : Buffer.from(backing, base + start, length));
    }
    return p;
  }

  /** The payload length in the event header at `p` of `data`; DECODE_ERROR if it is no event. */
  private wholeEventLength(data: Buffer, p: number): number {
    const type = (data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!;
    const length = (data[p + 4]! << 24) | (data[p + 5]! << 16) | (data[p + 6]! << 8) | data[p + 7]!;
    if (type !== EVENT_TYPE_CODE) {
      throw this.fail(`expected an event (type 0) at offset ${this.position}, found type ${type}`);
    }
    if (length < 0 || length > MAX_EVENT_SIZE) {
      throw this.fail(`event at offset ${this.position} has an invalid length ${length}`);
    }
    return length;
  }

  private fail(message: string): TributaryError {
    this.failure = new TributaryError('DECODE_ERROR', message, {
      details: { offset: this.position },
    });
    return this.failure;
  }
}
