import { TributaryError } from '../../errors.js';
import { keyText, type Key } from '../../runtime/key-groups.js';

/**
 * How keyed state entries are laid out in the disk backend's store.
 *
 * Key: `[key group: u16 BE][table id: u16 BE][key's canonical text (type tag + text), UTF-8]`, so
 * one key group's state is one contiguous, sorted key range (moving key groups = moving ranges).
 * Value: the state value in msgpack with the binary state codec's options (see below).
 */

/** LMDB's largest key (its default build) less the 4-byte prefix. */
const MAX_KEY_TEXT_BYTES = 1978 - 4;

const scratch = Buffer.allocUnsafe(4 + MAX_KEY_TEXT_BYTES);

/**
 * The stored key of `key` in `table` of `group`. Without `copy` it is a view of a buffer reused
 * by the next call (for a lookup).
 */
export function encodeStoredKey(group: number, table: number, key: Key, copy: boolean): Buffer {
  const text = keyText(key);
  if (text.length * 3 > MAX_KEY_TEXT_BYTES && Buffer.byteLength(text) > MAX_KEY_TEXT_BYTES)
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `key ${text.slice(0, 40)}… is ${Buffer.byteLength(text)} bytes long: the lmdb state backend takes keys of at most ${MAX_KEY_TEXT_BYTES} bytes`,
    );
  scratch.writeUInt16BE(group, 0);
  scratch.writeUInt16BE(table, 2);
  const length = 4 + scratch.write(text, 4, 'utf8');
  return copy ? Buffer.from(scratch.subarray(0, length)) : scratch.subarray(0, length);
}

/** `[group, table id, key]` of a stored key. */
export function decodeStoredKey(stored: Buffer): [number, number, Key] {
  const group = stored.readUInt16BE(0);
  const table = stored.readUInt16BE(2);
  const text = stored.toString('utf8', 4);
  const rest = text.slice(1);
  switch (text[0]) {
    case 's':
      return [group, table, rest];
    case 'n':
      return [group, table, Number(rest)];
    case 'b':
      return [group, table, BigInt(rest)];
    case 't':
      return [group, table, true];
    case 'f':
      return [group, table, false];
    default:
      throw new TributaryError('STATE_CORRUPT', `stored state key "${text}" has no type tag`);
  }
}

/**
 * msgpackr options of stored values, the same as the section codec's (`state-sections.ts`): Map,
 * Set, Date, bigint, bytes and plain objects round-trip. lmdb encodes with them straight into its
 * write buffer.
 */
export const STATE_VALUE_ENCODER = {
  useRecords: true,
  mapsAsObjects: false,
  moreTypes: true,
  int64AsType: 'bigint',
} as const;
