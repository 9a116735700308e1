import { decodeState, type StateValue } from '../../checkpoint/state-codec.js';
import { TributaryError } from '../../errors.js';
import type { SegmentAt } from '../../pravega/client/reader-group/event-stream-reader.js';
import { parseSegmentName } from '../../pravega/protocol/segment-name.js';
import type { KeyGroupControl, KeyGroupSpan } from '../../runtime/key-group-control.js';
import type { SegmentControls } from '../../source/pravega/pravega-reader.js';
import type { ClusterConnectorContext } from '../../source/source.js';
import { keyGroupRangesOfSegments } from '../key-group-ownership.js';

/** How long an acquiring receiver waits for the state of the key groups it took over. */
const LOAD_TIMEOUT_MS = 60_000;

/**
 * The keyed state after an exchange edge follows the edge's segments across the workers of a
 * cluster (docs/scale-out.md §6 item 2): segment i of S carries key groups [⌈i·K/S⌉, ⌈(i+1)·K/S⌉).
 * A receiver reader that takes segments over loads their key groups as of the latest completed
 * cluster checkpoint and adopts them before their first record; segments it holds at a marker to
 * give back are suspended right after that barrier (their timers must not fire here: the next
 * owner fires them), resumed when kept, dropped once given back; at every marker it tells the
 * worker the key groups it owns there, which the worker's state handle names.
 */
export function edgeSegmentControls(
  cluster: ClusterConnectorContext,
  edge: { readonly edgeUid: string; readonly segments: number; readonly keyGroups: number },
  readerId: string,
): SegmentControls {
  let sequence = 0;
  const id = (kind: string): string => `${edge.edgeUid}/${readerId}/${kind}-${++sequence}`;
  const spans = (segments: Iterable<string>): KeyGroupSpan[] =>
    keyGroupRangesOfSegments(
      [...segments].map((s) => parseSegmentName(s).segmentNumber),
      edge.segments,
      edge.keyGroups,
    ).map(([start, end]) => ({ start, end }));
  const control = (
    kind: 'suspend' | 'resume' | 'drop',
    segments: Iterable<string>,
  ): KeyGroupControl | undefined => {
    const keyGroups = spans(segments);
    return keyGroups.length === 0 ? undefined : { kind, id: id(kind), keyGroups };
  };
  return {
    async acquired(acquired: readonly SegmentAt[]): Promise<KeyGroupControl | undefined> {
      const keyGroups = spans(acquired.map((a) => a.segment));
      if (keyGroups.length === 0) return undefined;
      const state = new Map<string, Map<number, StateValue>>();
      let checkpointId = 0;
      const load = cluster.keyGroupStates;
      if (load === undefined)
        throw new TributaryError(
          'INTERNAL',
          `exchange ${edge.edgeUid}: the cluster offers no keyed state to load for acquired segments`,
        );
      for (const span of keyGroups) {
        const loaded = await load(span, LOAD_TIMEOUT_MS);
        if (loaded === undefined) continue; // no checkpoint completed yet: nothing to load
        checkpointId = Math.max(checkpointId, loaded.checkpointId);
        for (const [uid, groups] of loaded.operators) {
          let byGroup = state.get(uid);
          if (byGroup === undefined) state.set(uid, (byGroup = new Map()));
          for (const [group, encoded] of groups) byGroup.set(group, decodeState(encoded));
        }
      }
      return { kind: 'adopt', id: id('adopt'), keyGroups, checkpointId, state };
    },
    held: (segments) => control('suspend', segments),
    kept: (segments) => control('resume', segments),
    released: (released) =>
      control(
        'drop',
        released.map((r) => r.segment),
      ),
    marker(checkpointId: number, owned: readonly string[]): void {
      cluster.keyGroupsOwned?.(
        checkpointId,
        readerId,
        spans(owned).map((s) => [s.start, s.end] as const),
      );
    },
  };
}
