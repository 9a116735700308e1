import { TributaryError } from '../../errors.js';
import { hashRoutingKey } from '../../pravega/protocol/index.js';

/**
 * Where each key group goes on an exchange stream of `segments` fixed segments (docs/scale-out.md
 * §6): key group g → segment ⌊g·S/K⌋, contiguous ranges as Flink's key-group ranges. A stream
 * created with S fixed segments splits the routing-key space [0, 1) into S equal ranges
 * [s/S, (s+1)/S); the writer routes key group g with a routing key whose hash falls in its
 * segment's range, found once (a few tries per segment).
 */
export function segmentOfKeyGroup(keyGroup: number, segments: number, keyGroups: number): number {
  return Math.floor((keyGroup * segments) / keyGroups);
}

/** A routing key per segment whose hash lies in [s/S, (s+1)/S). */
export function routingKeysForSegments(segments: number): readonly string[] {
  const keys: (string | undefined)[] = new Array<string | undefined>(segments).fill(undefined);
  let missing = segments;
  // hashes are uniform: the expected number of tries is about S·ln(S); bounded for safety
  const limit = 1_000 * segments + 100_000;
  for (let i = 0; missing > 0 && i < limit; i++) {
    const key = `x${i}`;
    const s = Math.min(segments - 1, Math.floor(hashRoutingKey(key) * segments));
    if (keys[s] === undefined) {
      keys[s] = key;
      missing--;
    }
  }
  if (missing > 0) {
    throw new TributaryError(
      'INTERNAL',
      `exchange: found no routing key for ${missing} of ${segments} segments`,
    );
  }
  return keys as string[];
}

/** The routing key of each key group: the key of its segment. */
export function routingKeysForKeyGroups(segments: number, keyGroups: number): readonly string[] {
  const perSegment = routingKeysForSegments(segments);
  return Array.from(
    { length: keyGroups },
    (_, g) => perSegment[segmentOfKeyGroup(g, segments, keyGroups)]!,
  );
}
