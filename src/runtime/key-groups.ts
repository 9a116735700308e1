import { TributaryError } from '../errors.js';

/** Keys of keyed streams: primitives with a stable hash across processes. */
export type Key = string | number | bigint | boolean;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** decimal digits of an integer key, least significant first (reused: no allocation per key) */
const digits = new Uint8Array(20);

/**
 * FNV-1a over a type tag and the key's canonical text (`keyText`); stable across runs and
 * processes. String keys and safe-integer keys, the common ones, are hashed without building
 * that text (the keyBy of every record and every captured key pay no allocation for it).
 */
export function hashKey(key: Key): number {
  let hash = FNV_OFFSET;
  if (typeof key === 'string') {
    hash = Math.imul(hash ^ 0x73, FNV_PRIME); // 's'
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), FNV_PRIME);
  } else if (typeof key === 'number' && Number.isSafeInteger(key)) {
    hash = Math.imul(hash ^ 0x6e, FNV_PRIME); // 'n'
    let n = key;
    if (n < 0) {
      hash = Math.imul(hash ^ 0x2d, FNV_PRIME); // '-'
      n = -n;
    }
    let count = 0;
    while (n > 0x7fffffff) {
      digits[count++] = n % 10;
      n = Math.floor(n / 10);
    }
    let m = n | 0; // int32 arithmetic from here on
    do {
      const q = (m / 10) | 0;
      digits[count++] = m - q * 10;
      m = q;
    } while (m > 0);
    while (count > 0) hash = Math.imul(hash ^ (0x30 + (digits[--count] as number)), FNV_PRIME);
  } else {
    const text = keyText(key);
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  }
  // final avalanche (murmur3 fmix32) so that similar keys spread over key groups
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Canonical text of a key, unique per (type, value). */
export function keyText(key: Key): string {
  let text: string;
  switch (typeof key) {
    case 'string':
      text = 's' + key;
      break;
    case 'number':
      text = 'n' + String(key);
      break;
    case 'bigint':
      text = 'b' + key.toString();
      break;
    case 'boolean':
      text = key ? 't' : 'f';
      break;
    default:
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `keyBy: a key must be a string, number, bigint or boolean, got ${typeof key}`,
      );
  }
  return text;
}

export function keyGroupOf(key: Key, maxParallelism: number): number {
  return hashKey(key) % maxParallelism;
}

/** The subtask that owns a key group (contiguous ranges, as in Flink). */
export function subtaskForKeyGroup(
  keyGroup: number,
  maxParallelism: number,
  parallelism: number,
): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** Key groups [start, end) owned by a subtask. */
export function keyGroupRange(
  subtask: number,
  maxParallelism: number,
  parallelism: number,
): { start: number; end: number } {
  return {
    start: Math.ceil((subtask * maxParallelism) / parallelism),
    end: Math.ceil(((subtask + 1) * maxParallelism) / parallelism),
  };
}
