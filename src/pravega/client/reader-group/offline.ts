import { TABLE_KEY_MUST_NOT_EXIST } from '../../segment/segment-store.js';
import { unchanged, type SegmentKey } from './group-state.js';
import type { LivenessTracker } from './liveness.js';
import { removeReader } from './membership.js';
import {
  encodeReaderRecord,
  readerKey,
  type GroupStateTable,
  type Snapshot,
  type UpdateOutcome,
} from './state-table.js';

/**
 * Takes a reader out of the group: its segments are released (membership.ts) and its record is
 * tombstoned in the same atomic write, so a reader still running finds out at its next heartbeat.
 * @param expectedVersion when given, only if its record still has this version (liveness check)
 */
export function takeReaderOffline(
  table: GroupStateTable,
  reader: string,
  options: {
    readonly lastPositions?: ReadonlyMap<SegmentKey, bigint> | undefined;
    readonly session?: string | undefined;
    readonly expectedVersion?: bigint | 'absent' | undefined;
    readonly cached?: Snapshot | undefined;
  } = {},
): Promise<UpdateOutcome<boolean>> {
  const key = readerKey(reader);
  const conditional = options.expectedVersion !== undefined;
  return table.update(
    (state, extras) => {
      if (conditional) {
        const current = extras[0]?.version;
        const expected = options.expectedVersion === 'absent' ? undefined : options.expectedVersion;
        if (current !== expected) return unchanged(false); // it is alive after all
      }
      const t = removeReader(state, reader, options.lastPositions, options.session);
      if (t.state === undefined) return t;
      const member = state.members.get(reader);
      const tombstone = encodeReaderRecord({
        generation: state.generation,
        session: member?.session ?? '',
        offline: true,
        positions: new Map(),
      });
      const version = !conditional
        ? undefined
        : options.expectedVersion === 'absent'
          ? TABLE_KEY_MUST_NOT_EXIST
          : options.expectedVersion;
      return {
        ...t,
        writes: [{ key, value: tombstone, ...(version !== undefined ? { version } : {}) }],
      };
    },
    conditional ? { readKeys: [key] } : { cached: options.cached },
  );
}

/**
 * One liveness check: reads the records of `readers`, and takes offline those whose record has
 * not changed for the tracker's timeout (see liveness.ts).
 * @returns the readers taken offline
 */
export async function takeDeadReadersOffline(
  table: GroupStateTable,
  tracker: LivenessTracker,
  readers: readonly string[],
): Promise<string[]> {
  const entries = readers.length === 0 ? [] : await table.entries(readers.map(readerKey));
  const observed = new Map(readers.map((r, i) => [r, entries[i]?.version]));
  const removed: string[] = [];
  for (const dead of tracker.observe(observed, Date.now())) {
    const outcome = await takeReaderOffline(table, dead.reader, {
      expectedVersion: dead.version ?? 'absent',
    });
    if (outcome.result) removed.push(dead.reader);
  }
  return removed;
}
