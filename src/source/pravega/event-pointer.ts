import { encodeMutf8 } from '../../pravega/protocol/index.js';

/**
 * Where an event sits, as a deserializer that wants it sees it (Flink's
 * `PravegaDeserializationSchemaWithMetadata`): its segment, offset, and the bytes of Java's
 * `EventPointer.toBytes()` for it.
 */
export interface SourceEvent {
  /** qualified segment name, `scope/stream/N.#epoch.E` (Java's `Segment.getScopedName()`) */
  readonly segment: string;
  /** offset of the event (its 8-byte header) in the segment */
  readonly offset: number;
  /** the event's payload length */
  readonly length: number;
  /** Java's `EventPointer.toBytes()`: `EventPointer.fromBytes` + `fetchEvent` read the event */
  pointer(): Buffer;
}

const EVENT_HEADER_BYTES = 8;

function compactLong(v: number): Buffer {
  // RevisionDataOutput.writeCompactLong: 1, 2, 4 or 8 bytes, the top 2 bits say which
  const n = v > 0x3fff_ffff ? 8 : v > 0x3fff ? 4 : v > 0x3f ? 2 : 1;
  const marker = [0n, 1n, 0n, 2n, 0n, 0n, 0n, 3n][n - 1]!;
  const out = Buffer.alloc(n);
  let x = BigInt(v) | (marker << BigInt(8 * n - 2));
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function compactInt(v: number): Buffer {
  // RevisionDataOutput.writeCompactInt: 1, 2 or 4 bytes, the top 2 bits say which
  if (v > 0x3fff) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((v | 0xc000_0000) >>> 0);
    return b;
  }
  if (v > 0x7f) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v | 0x8000);
    return b;
  }
  return Buffer.from([v]);
}

/**
 * `EventPointerImpl.toBytes()`: the versioned serializer's header (format 0, version 0, one
 * revision: id 0 and its length), then the segment's scoped name (writeUTF), the event's start
 * offset (compact long) and its length including the 8-byte header (compact int).
 */
export function eventPointerBytes(segment: string, offset: number, payloadLength: number): Buffer {
  const name = encodeMutf8(segment);
  const nameLength = Buffer.alloc(2);
  nameLength.writeUInt16BE(name.length);
  const body = Buffer.concat([
    nameLength,
    name,
    compactLong(offset),
    compactInt(payloadLength + EVENT_HEADER_BYTES),
  ]);
  const header = Buffer.alloc(8);
  header[0] = 0; // serializer format
  header[1] = 0; // write version
  header[2] = 1; // revisions
  header[3] = 0; // revision 0
  header.writeInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export function sourceEvent(segment: string, offset: number, length: number): SourceEvent {
  return { segment, offset, length, pointer: () => eventPointerBytes(segment, offset, length) };
}
