import { TributaryError } from '../../errors.js';

/**
 * What travels on an exchange edge's internal stream, one Pravega event each:
 * - a record: kind 1, its event timestamp (float64; NaN = none), the edge serializer's payload;
 * - a sender's watermark: kind 2, the watermark (float64), the sender's subtask and parallelism
 *   (uint16 each) and whether the sender was idle (uint8). Every sender writes one into every
 *   segment of each transaction, after its records.
 */
export type Received<T> =
  | { readonly kind: 'record'; readonly value: T; readonly timestamp: number | undefined }
  | {
      readonly kind: 'watermark';
      readonly segment: string;
      readonly sender: number;
      readonly senders: number;
      readonly watermark: number;
      readonly idle: boolean;
    }
  /** not on the stream: the segments the receiving reader owns changed */
  | { readonly kind: 'owned'; readonly segments: readonly string[] };

const RECORD = 1;
const WATERMARK = 2;
const RECORD_HEADER = 9;
const WATERMARK_SIZE = 14;

export function encodeRecord(payload: Buffer, timestamp: number | undefined): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  out.writeUInt8(RECORD, 0);
  out.writeDoubleBE(timestamp ?? Number.NaN, 1);
  payload.copy(out, RECORD_HEADER);
  return out;
}

export function encodeWatermark(
  watermark: number,
  sender: number,
  senders: number,
  idle: boolean,
): Buffer {
  const out = Buffer.allocUnsafe(WATERMARK_SIZE);
  out.writeUInt8(WATERMARK, 0);
  out.writeDoubleBE(watermark, 1);
  out.writeUInt16BE(sender, 9);
  out.writeUInt16BE(senders, 11);
  out.writeUInt8(idle ? 1 : 0, 13);
  return out;
}

export function decodeReceived<T>(
  bytes: Buffer,
  segment: string,
  deserialize: (payload: Buffer) => T,
): Received<T> {
  const kind = bytes.length > 0 ? bytes.readUInt8(0) : undefined;
  if (kind === RECORD && bytes.length >= RECORD_HEADER) {
    const ts = bytes.readDoubleBE(1);
    return {
      kind: 'record',
      value: deserialize(bytes.subarray(RECORD_HEADER)),
      timestamp: Number.isNaN(ts) ? undefined : ts,
    };
  }
  if (kind === WATERMARK && bytes.length === WATERMARK_SIZE) {
    return {
      kind: 'watermark',
      segment,
      watermark: bytes.readDoubleBE(1),
      sender: bytes.readUInt16BE(9),
      senders: bytes.readUInt16BE(11),
      idle: bytes.readUInt8(13) === 1,
    };
  }
  throw new TributaryError(
    'DESERIALIZATION_FAILED',
    `exchange: not an exchange event (${bytes.length} bytes, kind ${kind ?? 'none'}) in ${segment}`,
  );
}
