import { TributaryError } from '../../errors.js';
import { ByteQueue } from './byte-queue.js';
import type { AnyCodec, Command } from './command.js';
import { CODECS, codecForCode } from './command.js';
import { HEADER_SIZE, MAX_FRAME } from './constants.js';
import { WireReader } from './wire-reader.js';
import { BufferWriter, SizeCounter } from './wire-writer.js';

/**
 * Frames: `int32 type, int32 length, payload`. The length excludes the 8-byte header; a whole
 * frame is at most `MAX_FRAME` (0x00FFFFFF) bytes.
 */

/** Byte fields at least this long are passed by reference by {@link encodeCommandParts}. */
export const ZERO_COPY_MIN = 1024;

function frameTooLarge(name: string, total: number, max: number): TributaryError {
  return new TributaryError(
    'FRAME_TOO_LARGE',
    `${name} frame of ${total} bytes exceeds the ${max}-byte frame limit`,
    { details: { command: name, frameSize: total, maxFrameSize: max } },
  );
}

function codecOf(cmd: Command): AnyCodec {
  const codec = (CODECS as Record<string, AnyCodec | undefined>)[cmd.type];
  if (codec === undefined) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `unknown command type ${JSON.stringify(cmd.type)}`,
    );
  }
  return codec;
}

function measure(codec: AnyCodec, cmd: Command, zeroCopyMin?: number): SizeCounter {
  const counter = new SizeCounter(codec.name, zeroCopyMin);
  codec.write(counter, cmd);
  const total = HEADER_SIZE + counter.size;
  if (total > MAX_FRAME) throw frameTooLarge(codec.name, total, MAX_FRAME);
  return counter;
}

function internalMismatch(codec: AnyCodec): TributaryError {
  return new TributaryError(
    'INTERNAL',
    `${codec.name} encoder wrote a different size than measured`,
  );
}

/** One buffer holding the whole frame (header + payload). Validates every field first. */
export function encodeCommand(cmd: Command): Buffer {
  const codec = codecOf(cmd);
  const counter = measure(codec, cmd);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + counter.size);
  const w = new BufferWriter(buf, 0);
  w.int32(codec.code);
  w.int32(counter.size);
  codec.write(w, cmd);
  if (w.pos !== buf.length) throw internalMismatch(codec);
  return buf;
}

/**
 * The frame as a list of buffers for `writev`/`cork`: one freshly written buffer for the header
 * and the small fields, and the caller's own byte fields of at least `zeroCopyMin` bytes
 * (AppendBlockEnd data, event payloads, table values, ...) by reference, not copied. The caller
 * must not modify those buffers until they are written.
 */
export function encodeCommandParts(cmd: Command, zeroCopyMin: number = ZERO_COPY_MIN): Buffer[] {
  const codec = codecOf(cmd);
  const counter = measure(codec, cmd, zeroCopyMin);
  const inline = Buffer.allocUnsafe(HEADER_SIZE + counter.size - counter.external);
  const parts: Buffer[] = [];
  const w = new BufferWriter(inline, 0, parts, zeroCopyMin);
  w.int32(codec.code);
  w.int32(counter.size);
  codec.write(w, cmd);
  w.finish();
  if (w.pos !== inline.length) throw internalMismatch(codec);
  return parts;
}

function decodeError(message: string, details: Record<string, unknown> = {}): TributaryError {
  return new TributaryError('DECODE_ERROR', message, { details });
}

/**
 * Decodes one payload of wire type `code`. Byte fields are views of `payload`. Bytes after the
 * last known field are ignored (newer peers may append fields), as the Java decoder does.
 */
export function decodePayload(code: number, payload: Buffer): Command {
  const codec = codecForCode(code);
  if (codec === undefined)
    throw decodeError(`unknown wire command type ${code}`, { typeCode: code });
  return codec.read(new WireReader(payload, codec.name));
}

/** Decodes a buffer holding exactly one whole frame. */
export function decodeCommand(frame: Buffer): Command {
  if (frame.length < HEADER_SIZE) {
    throw decodeError(`frame of ${frame.length} bytes is shorter than its 8-byte header`);
  }
  const code = frame.readInt32BE(0);
  const length = frame.readInt32BE(4);
  const codec = checkHeader(code, length, MAX_FRAME);
  if (frame.length !== HEADER_SIZE + length) {
    throw decodeError(
      `${codec.name} header announces ${length} payload bytes, the frame has ${frame.length - HEADER_SIZE}`,
      { command: codec.name },
    );
  }
  return codec.read(new WireReader(frame, codec.name, HEADER_SIZE, frame.length));
}

function checkHeader(code: number, length: number, maxFrameSize: number): AnyCodec {
  const codec = codecForCode(code);
  if (codec === undefined)
    throw decodeError(`unknown wire command type ${code}`, { typeCode: code });
  if (length < 0) {
    throw decodeError(`${codec.name} frame has a negative length ${length}`, {
      command: codec.name,
    });
  }
  if (HEADER_SIZE + length > maxFrameSize) {
    throw frameTooLarge(codec.name, HEADER_SIZE + length, maxFrameSize);
  }
  return codec;
}

export interface FrameDecoderOptions {
  /** largest accepted frame, header included; default and upper bound `MAX_FRAME` */
  readonly maxFrameSize?: number;
}

/**
 * Turns a byte stream cut into arbitrary chunks back into commands.
 *
 * - A frame that lies inside one chunk is decoded in place: its byte fields (SegmentRead data,
 *   append data, table keys and values) are views of that chunk, not copies. A frame split across
 *   chunks is copied once into a buffer of its exact size, allocated only when all of its bytes
 *   have arrived.
 * - The header is checked as soon as its 8 bytes arrive: an unknown type or a negative length is a
 *   DECODE_ERROR, a frame over the limit is FRAME_TOO_LARGE. After any error the decoder is failed
 *   and every later call throws again: the connection must be closed.
 */
export class FrameDecoder {
  private readonly maxFrameSize: number;
  private readonly queue = new ByteQueue();
  /** the codec and payload length of a frame whose header was consumed, or undefined */
  private pending: AnyCodec | undefined;
  private pendingLength = 0;
  private failure: TributaryError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameSize ?? MAX_FRAME;
    if (!Number.isInteger(max) || max < HEADER_SIZE || max > MAX_FRAME) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `maxFrameSize must be 8..${MAX_FRAME}`);
    }
    this.maxFrameSize = max;
  }

  /** Bytes received but not yet decoded (a partial frame). */
  get bufferedBytes(): number {
    return this.queue.length + (this.pending === undefined ? 0 : HEADER_SIZE);
  }

  /** Whether a previous call failed (the stream is unusable). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Decodes every complete frame `chunk` completes and returns them in order. */
  decode(chunk: Buffer): Command[] {
    const out: Command[] = [];
    this.push(chunk, (cmd) => out.push(cmd));
    return out;
  }

  /**
   * Feeds `chunk`; calls `onCommand` for each complete command, in order, as soon as it is decoded
   * (so commands before a corrupt frame are still delivered before the error is thrown).
   */
  push(chunk: Buffer, onCommand: (cmd: Command) => void): void {
    if (this.failure !== undefined) throw this.failure;
    this.queue.push(chunk);
    for (;;) {
      let cmd: Command;
      try {
        const next = this.next();
        if (next === undefined) return;
        cmd = next;
      } catch (err) {
        this.failure = TributaryError.is(err)
          ? err
          : new TributaryError('DECODE_ERROR', 'frame decoding failed', { cause: err });
        throw err;
      }
      onCommand(cmd);
    }
  }

  private next(): Command | undefined {
    if (this.pending === undefined) {
      if (this.queue.length < HEADER_SIZE) return undefined;
      const code = this.queue.int32At(0);
      const length = this.queue.int32At(4);
      this.pending = checkHeader(code, length, this.maxFrameSize);
      this.pendingLength = length;
      this.queue.skip(HEADER_SIZE);
    }
    if (this.queue.length < this.pendingLength) return undefined;
    const codec = this.pending;
    const payload = this.queue.take(this.pendingLength);
    this.pending = undefined;
    this.pendingLength = 0;
    return codec.read(new WireReader(payload, codec.name));
  }
}
