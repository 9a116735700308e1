import { createHash } from 'node:crypto';
import { TributaryError } from '../../errors.js';
import type { SenderNews } from './segment-senders.js';

/**
 * What travels on an exchange edge's internal stream, one Pravega event each:
 * - a record: kind 1, its event timestamp (float64; NaN = none), the edge serializer's payload;
 * - a sender's watermark: kind 2, the watermark (float64), the sender's subtask and parallelism
 *   (uint16 each) and whether the sender was idle (uint8). Every sender writes one into every
 *   segment of each transaction, after its records;
 * - across workers, a sender's watermark: kind 3, the watermark (float64), idle (uint8), the
 *   sender's subtask and parallelism (uint16 each), the checkpoint of the transaction (float64),
 *   the sender's incarnation (8 bytes: a hash of worker id and epoch), and that checkpoint's
 *   participants' incarnations (uint16 count, 8 bytes each, sorted): see segment-senders.ts.
 */
export type Received<T> =
  | { readonly kind: 'record'; readonly value: T; readonly timestamp: number | undefined }
  | ({ readonly kind: 'watermark'; readonly segment: string } & SenderNews)
  /**
   * not on the stream: the segments the receiving reader owns changed; `adopting`: the keyed
   * state of a segment it takes over comes with a watermark floor (across workers)
   */
  | { readonly kind: 'owned'; readonly segments: readonly string[]; readonly adopting?: boolean };

const RECORD = 1;
const WATERMARK = 2;
const RECORD_HEADER = 9;
const WATERMARK_SIZE = 14;
const CLUSTER_WATERMARK = 3;
const CLUSTER_WATERMARK_HEADER = 32;
const INCARNATION_SIZE = 8;

/** A worker incarnation's 8-byte id on an exchange edge. */
export function incarnationId(workerId: string, epoch: number): Buffer {
  return createHash('sha256').update(`${workerId}#${epoch}`).digest().subarray(0, INCARNATION_SIZE);
}

/** A sender's watermark across workers: who sent it, in which checkpoint, and its senders. */
export interface ClusterWatermark {
  readonly watermark: number;
  readonly idle: boolean;
  readonly subtask: number;
  readonly parallelism: number;
  readonly checkpoint: number;
  readonly incarnation: Buffer;
  readonly participants: readonly Buffer[];
}

export function encodeClusterWatermark(w: ClusterWatermark): Buffer {
  const participants = [...w.participants].sort((a, b) => Buffer.compare(a, b));
  const out = Buffer.allocUnsafe(CLUSTER_WATERMARK_HEADER + participants.length * INCARNATION_SIZE);
  out.writeUInt8(CLUSTER_WATERMARK, 0);
  out.writeDoubleBE(w.watermark, 1);
  out.writeUInt8(w.idle ? 1 : 0, 9);
  out.writeUInt16BE(w.subtask, 10);
  out.writeUInt16BE(w.parallelism, 12);
  out.writeDoubleBE(w.checkpoint, 14);
  w.incarnation.copy(out, 22, 0, INCARNATION_SIZE);
  out.writeUInt16BE(participants.length, 30);
  participants.forEach((p, i) =>
    p.copy(out, CLUSTER_WATERMARK_HEADER + i * INCARNATION_SIZE, 0, INCARNATION_SIZE),
  );
  return out;
}

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
      sender: String(bytes.readUInt16BE(9)),
      live: `n=${bytes.readUInt16BE(11)}`,
      checkpoint: 0,
      idle: bytes.readUInt8(13) === 1,
    };
  }
  if (
    kind === CLUSTER_WATERMARK &&
    bytes.length >= CLUSTER_WATERMARK_HEADER &&
    bytes.length === CLUSTER_WATERMARK_HEADER + bytes.readUInt16BE(30) * INCARNATION_SIZE
  ) {
    const participants: string[] = [];
    for (let at = CLUSTER_WATERMARK_HEADER; at < bytes.length; at += INCARNATION_SIZE)
      participants.push(bytes.toString('hex', at, at + INCARNATION_SIZE));
    return {
      kind: 'watermark',
      segment,
      watermark: bytes.readDoubleBE(1),
      idle: bytes.readUInt8(9) === 1,
      sender: `${bytes.toString('hex', 22, 30)}/${bytes.readUInt16BE(10)}`,
      live: `p=${bytes.readUInt16BE(12)};${participants.join(',')}`,
      checkpoint: bytes.readDoubleBE(14),
    };
  }
  throw new TributaryError(
    'DESERIALIZATION_FAILED',
    `exchange: not an exchange event (${bytes.length} bytes, kind ${kind ?? 'none'}) in ${segment}`,
  );
}
