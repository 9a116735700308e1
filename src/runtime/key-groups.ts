import { TributaryError } from '../errors.js';

/** Keys of keyed streams: primitives with a stable hash across processes. */
export type Key = string | number | bigint | boolean;

/** FNV-1a over a type tag and the key's canonical text; stable across runs and processes. */
export function hashKey(key: Key): number {
  const text = keyText(key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
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
