import { randomUUID } from 'node:crypto';
import { TributaryError } from '../../errors.js';

/** UUIDs travel as two signed 64-bit longs (most, then least significant); in TS they are text. */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function newUuid(): string {
  return randomUUID();
}

export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}

/** Canonical lower-case text of a UUID given as its 32 hex digits (no dashes). */
export function uuidFromHex(hex: string): string {
  const h = hex.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(h)) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `not 32 hex digits: ${JSON.stringify(hex)}`);
  }
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidToHex(uuid: string): string {
  const lower = uuid.toLowerCase();
  if (!UUID_RE.test(lower)) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `not a UUID: ${JSON.stringify(uuid)}`);
  }
  return lower.replaceAll('-', '');
}

/** The two signed longs (msb, lsb) of a UUID, as Java's UUID holds them. */
export function uuidToLongs(uuid: string): [bigint, bigint] {
  const hex = uuidToHex(uuid);
  return [
    BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)),
    BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)),
  ];
}

export function uuidFromLongs(msb: bigint, lsb: bigint): string {
  const hi = BigInt.asUintN(64, msb).toString(16).padStart(16, '0');
  const lo = BigInt.asUintN(64, lsb).toString(16).padStart(16, '0');
  return uuidFromHex(hi + lo);
}
