import type { CompletedRecord } from '../../../src/cluster/records.js';
import type { StateHandle } from '../../../src/cluster/state-handles.js';

/** A completed cluster checkpoint `id` whose pieces name only the given workers' state handles. */
export function completedRecord(
  id: number,
  ...handles: { workerId: string; state: StateHandle[] }[]
): CompletedRecord {
  return {
    id,
    term: 1,
    pieces: handles.map((h) => ({
      workerId: h.workerId,
      epoch: 1,
      piece: { readerGroups: {}, sinks: [], state: h.state },
    })),
  } as unknown as CompletedRecord;
}
