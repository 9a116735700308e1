import { TributaryError } from '../../errors.js';

/**
 * One exchanged record on the internal stream: a version byte, the record's event timestamp
 * (float64; NaN = none) and the record's payload as the edge's serializer wrote it.
 */
export interface Envelope<T> {
  readonly value: T;
  /** event time (ms), when the sender's record had one */
  readonly timestamp: number | undefined;
}

const VERSION = 1;
const HEADER = 9;

export function encodeEnvelope(payload: Buffer, timestamp: number | undefined): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt8(VERSION, 0);
  out.writeDoubleBE(timestamp ?? Number.NaN, 1);
  payload.copy(out, HEADER);
  return out;
}

export function decodeEnvelope<T>(bytes: Buffer, deserialize: (payload: Buffer) => T): Envelope<T> {
  if (bytes.length < HEADER || bytes.readUInt8(0) !== VERSION) {
    throw new TributaryError(
      'DESERIALIZATION_FAILED',
      `exchange: not an exchange record (${bytes.length} bytes, version ${bytes.length > 0 ? bytes.readUInt8(0) : 'none'})`,
    );
  }
  const ts = bytes.readDoubleBE(1);
  return {
    value: deserialize(bytes.subarray(HEADER)),
    timestamp: Number.isNaN(ts) ? undefined : ts,
  };
}
