import type { WireReader } from '../wire-reader.js';
import type { WireSink } from '../wire-writer.js';

/** Who sends a command: a request (client → server), a reply, either side, or part of a block. */
export type CommandKind = 'request' | 'reply' | 'both' | 'block';

/**
 * Encoder and decoder of one wire command, side by side. `write` puts the payload fields (not the
 * 8-byte header) into a sink in wire order; `read` reads them back from the payload.
 */
export interface CommandCodec<C extends { readonly type: string }> {
  /** the wire type code */
  readonly code: number;
  readonly type: C['type'];
  /** the Java class name, used in error messages */
  readonly name: string;
  readonly kind: CommandKind;
  write(w: WireSink, cmd: C): void;
  read(r: WireReader): C;
}

/**
 * Trailing-optional string (older peers omit it): read when any byte is left, else `''`.
 * Mirrors Java's `in.available() > 0 ? in.readUTF() : ""`.
 */
export function optionalUtf(r: WireReader, field: string): string {
  return r.remaining > 0 ? r.utf(field) : '';
}

/**
 * Trailing-optional long: read when at least 8 bytes are left, else `absent`.
 * Mirrors Java's `in.available() >= Long.BYTES ? in.readLong() : absent`.
 */
export function optionalLong(r: WireReader, field: string, absent: bigint): bigint {
  return r.remaining >= 8 ? r.int64(field) : absent;
}

/** Trailing-optional int: read when at least 4 bytes are left, else `absent`. */
export function optionalInt(r: WireReader, field: string, absent: number): number {
  return r.remaining >= 4 ? r.int32(field) : absent;
}
