import { randomUUID } from 'node:crypto';
import { decodeState, type StateValue } from '../../checkpoint/state-codec.js';
import { TributaryError } from '../../errors.js';
import { parseSegmentName } from '../../pravega/protocol/index.js';
import type { SegmentAt } from '../../pravega/client/reader-group/event-stream-reader.js';
import type { KeyGroupControl, KeyGroupSpan } from '../../runtime/key-group-control.js';
import type { ClusterConnectorContext } from '../../source/source.js';
import type { SegmentControls } from '../../source/pravega/pravega-reader.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../runtime/stream-element.js';
import { keyGroupRangesOfSegments } from '../key-group-ownership.js';
import type { Received } from './envelope.js';
import { SegmentSenders } from './segment-senders.js';

interface SegmentFloor {
  floor: number;
  readonly senders: SegmentSenders;
}

/** The cluster's side of a receiving reader: loading key groups and naming the owned ones. */
export type EdgeCluster = Required<
  Pick<ClusterConnectorContext, 'keyGroupStates' | 'keyGroupsOwned'>
>;

/**
 * What one receiving reader of an exchange edge run by several workers tells the keyed operators
 * after it, and its worker, as edge segments change hands (docs/scale-out.md §6 "Across workers"
 * item 2). Segment i of S carries the key groups `keyGroupRangesOfSegments([i], S, K)`; whoever
 * reads a segment owns their keyed state:
 *
 * - taken over → `adopt` of their state as of the latest completed cluster checkpoint (awaited
 *   before the segment's first record: the position it is taken over at is that checkpoint's, or
 *   an earlier one's whose state was carried forward unchanged);
 * - frozen at checkpoint N's marker to be given back → `suspend` after N's barrier (their timers
 *   fire at the next owner); read on after all → `resume`; given back → `drop`;
 * - at each marker N, the key groups of the segments it reads, and of those frozen at N itself
 *   (its state of N is theirs as of N's positions, where the next owner starts), go to the worker
 *   for its state handle of N. Segments frozen at an earlier marker are left out: the completed
 *   record carries their state of that marker forward, so the next owner, which may already hold
 *   them at N, is their only owner.
 *
 * With event time, a segment taken over may be behind the event time the keyed operators here
 * already reached with their other segments (it was frozen at its marker meanwhile): its key
 * groups are adopted with a floor at the minimum watermark, so none of its records is late, and
 * the floor follows the senders' watermarks read from that segment (`advance`, once every sender
 * was heard from there; the minimum over the non-idle ones) until it reaches the operators' own,
 * or goes once all of them were idle.
 */
export function edgeSegmentControls(
  edge: {
    readonly edgeUid: string;
    readonly segments: number;
    readonly keyGroups: number;
    readonly eventTime: boolean;
  },
  reader: string,
  cluster: EdgeCluster,
  loadTimeoutMs: number,
): SegmentControls {
  const owned = new Set<number>();
  /** segment number → the checkpoint at whose marker it was frozen */
  const heldAt = new Map<number, number>();
  /** segment number → its floor and the senders' latest watermarks read from it (event time) */
  const floors = new Map<number, SegmentFloor>();
  const numbers = (segments: readonly string[]): number[] =>
    segments.map((s) => parseSegmentName(s).segmentNumber);
  const spans = (segments: readonly number[]): KeyGroupSpan[] =>
    keyGroupRangesOfSegments(segments, edge.segments, edge.keyGroups).map(([start, end]) => ({
      start,
      end,
    }));
  const control = (
    kind: 'suspend' | 'resume' | 'drop',
    segments: readonly number[],
  ): KeyGroupControl | undefined => {
    const keyGroups = spans(segments);
    return keyGroups.length === 0
      ? undefined
      : { kind, id: `${edge.edgeUid}-${kind}-${randomUUID()}`, keyGroups };
  };

  return {
    async acquired(acquired: readonly SegmentAt[]): Promise<KeyGroupControl | undefined> {
      const taken = numbers(acquired.map((a) => a.segment));
      const keyGroups = spans(taken);
      const state = new Map<string, Map<number, StateValue>>();
      let checkpointId = 0;
      for (const span of keyGroups) {
        const loaded = await cluster.keyGroupStates(span, loadTimeoutMs);
        if (loaded === undefined) continue;
        checkpointId = Math.max(checkpointId, loaded.checkpointId);
        for (const [uid, groups] of loaded.operators) {
          let byGroup = state.get(uid);
          if (byGroup === undefined) state.set(uid, (byGroup = new Map<number, StateValue>()));
          for (const [group, encoded] of groups) byGroup.set(group, decodeState(encoded));
        }
      }
      for (const s of taken) {
        owned.add(s);
        heldAt.delete(s);
        if (edge.eventTime) floors.set(s, { floor: MIN_WATERMARK, senders: new SegmentSenders() });
      }
      if (keyGroups.length === 0) return undefined;
      return {
        kind: 'adopt',
        id: `${edge.edgeUid}-adopt-${randomUUID()}`,
        keyGroups,
        checkpointId,
        state,
        ...(edge.eventTime ? { watermark: MIN_WATERMARK } : {}),
      };
    },
    read(records: readonly unknown[]): KeyGroupControl[] | undefined {
      if (floors.size === 0) return undefined;
      const moved = new Set<number>();
      for (const item of records as readonly Received<unknown>[]) {
        if (item.kind !== 'watermark') continue;
        const segment = parseSegmentName(item.segment).segmentNumber;
        const entry = floors.get(segment);
        if (entry === undefined) continue;
        entry.senders.heard(item);
        moved.add(segment);
      }
      const controls: KeyGroupControl[] = [];
      for (const segment of moved) {
        const entry = floors.get(segment)!;
        const heard = entry.senders.watermark();
        if (heard === undefined) continue;
        // every live sender was idle at the segment's frontier: what it sent up to there is read,
        // and no record is on its way (SenderReports) — the segment is no further behind than the
        // others, and the floor goes (its key groups follow the operators' watermark); without it,
        // a segment taken over after its senders went idle for good would hold its windows forever
        const watermark = Number.isFinite(heard) ? heard : MAX_WATERMARK;
        if (watermark <= entry.floor) continue;
        entry.floor = watermark;
        controls.push({
          kind: 'advance',
          id: `${edge.edgeUid}-advance-${randomUUID()}`,
          keyGroups: spans([segment]),
          watermark,
        });
      }
      return controls.length > 0 ? controls : undefined;
    },
    held(
      segments: readonly string[],
      checkpointId: number | undefined,
    ): KeyGroupControl | undefined {
      if (checkpointId === undefined) {
        throw new TributaryError(
          'INTERNAL',
          `exchange ${edge.edgeUid}: segments ${segments.join(', ')} were frozen at a marker that is no job checkpoint`,
        );
      }
      const frozen = numbers(segments);
      for (const s of frozen) heldAt.set(s, checkpointId);
      return control('suspend', frozen);
    },
    kept(segments: readonly string[]): KeyGroupControl | undefined {
      const kept = numbers(segments);
      for (const s of kept) heldAt.delete(s);
      return control('resume', kept);
    },
    released(released: readonly SegmentAt[]): KeyGroupControl | undefined {
      const given = numbers(released.map((r) => r.segment));
      for (const s of given) {
        owned.delete(s);
        heldAt.delete(s);
        floors.delete(s);
      }
      return control('drop', given);
    },
    marker(checkpointId: number): void {
      const named = [...owned].filter((s) => (heldAt.get(s) ?? checkpointId) >= checkpointId);
      cluster.keyGroupsOwned(
        reader,
        checkpointId,
        keyGroupRangesOfSegments(named, edge.segments, edge.keyGroups),
      );
    },
  };
}
