import type { AckRecord, CarriedState, CompletedRecord } from './records.js';
import { asWorkerPiece } from './worker-piece.js';
import { stateHandlesOf, type StateHandle } from './state-handles.js';

/**
 * Who owns which key groups in a completed cluster checkpoint (docs/scale-out.md §6 item 2).
 * Keyed state after an exchange edge is owned per key-group range = per edge segment: segment i
 * of S carries the key groups g with ⌊g·S/K⌋ = i. At checkpoint L each worker's state handle
 * names only the ranges it owns at L; a key group nobody owns at L (its segment released and not
 * yet acquired, or its worker dead and not yet replaced) keeps the handle of the previous
 * completed record, carried forward into L's (`CompletedRecord.carried`) — so a restore finds it
 * and retention, which keeps what the latest completed record names, keeps its bytes too.
 */

/** Key-group ranges `[start, end)`, sorted, disjoint. */
export type KeyGroupRanges = readonly (readonly [number, number])[];

/**
 * The key groups the edge segments `segments` carry, of `keyGroups` (K) over `segmentCount` (S):
 * segment i holds g with ⌊g·S/K⌋ = i, i.e. [⌈i·K/S⌉, ⌈(i+1)·K/S⌉) (`routing.ts`).
 */
export function keyGroupRangesOfSegments(
  segments: Iterable<number>,
  segmentCount: number,
  keyGroups: number,
): [number, number][] {
  const ranges: [number, number][] = [];
  for (const i of [...new Set(segments)].sort((a, b) => a - b)) {
    const start = Math.ceil((i * keyGroups) / segmentCount);
    const end = Math.ceil(((i + 1) * keyGroups) / segmentCount);
    if (start < end) ranges.push([start, end]);
  }
  return normalizeRanges(ranges);
}

/** Sorted, overlapping and adjacent ranges merged. */
export function normalizeRanges(ranges: KeyGroupRanges): [number, number][] {
  const sorted = ranges.filter(([a, b]) => a < b).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** `ranges` without the key groups of `minus`. */
export function subtractRanges(ranges: KeyGroupRanges, minus: KeyGroupRanges): [number, number][] {
  let rest = normalizeRanges(ranges);
  for (const [c, d] of normalizeRanges(minus)) {
    rest = rest.flatMap(([a, b]): [number, number][] => {
      if (d <= a || b <= c) return [[a, b]];
      const parts: [number, number][] = [];
      if (a < c) parts.push([a, c]);
      if (d < b) parts.push([d, b]);
      return parts;
    });
  }
  return rest;
}

function handlesOf(piece: AckRecord): readonly StateHandle[] {
  return asWorkerPiece(piece.piece).state ?? [];
}

/**
 * Why `pieces` cannot make one completed record: the first key group two of them claim, naming
 * both workers; undefined when every key group has at most one owner.
 */
export function ownershipConflict(pieces: readonly AckRecord[]): string | undefined {
  const claims: { workerId: string; start: number; end: number }[] = [];
  for (const p of pieces) {
    for (const h of handlesOf(p)) {
      for (const [start, end] of h.keyGroups) {
        const other = claims.find((c) => c.start < end && start < c.end);
        if (other !== undefined) {
          const g = Math.max(start, other.start);
          return `workers ${other.workerId} and ${p.workerId} both name key group ${g} in their state of checkpoint ${p.checkpointId}: a key group has one owner`;
        }
        claims.push({ workerId: p.workerId, start, end });
      }
    }
  }
  return undefined;
}

/**
 * The handles of `previous` (pieces and carried alike) narrowed to the key groups no piece of
 * `pieces` names: what the next completed record carries forward. Nothing when no piece holds
 * keyed state at all (a stateless job) and nothing was carried before.
 */
export function carryForward(
  previous: CompletedRecord | undefined,
  pieces: readonly AckRecord[],
): CarriedState[] {
  if (previous === undefined) return [];
  const covered = pieces.flatMap((p) => handlesOf(p).flatMap((h) => h.keyGroups));
  const carried: CarriedState[] = [];
  for (const { workerId, handle } of stateHandlesOf(previous)) {
    const rest = subtractRanges(handle.keyGroups, covered);
    if (rest.length > 0) carried.push({ workerId, handle: { ...handle, keyGroups: rest } });
  }
  return carried;
}

/**
 * The key groups of `[0, keyGroups)` no completed checkpoint has named up to `pieces`: those
 * `previous` had never named (all of them when there is no previous record) less those `pieces`
 * name. Their state is empty: no worker has held them yet.
 */
export function neverNamedAfter(
  previous: CompletedRecord | undefined,
  pieces: readonly AckRecord[],
  keyGroups: number,
): [number, number][] {
  const before: KeyGroupRanges =
    previous === undefined ? [[0, keyGroups]] : (previous.neverNamed ?? []);
  return subtractRanges(
    before,
    pieces.flatMap((p) => handlesOf(p).flatMap((h) => h.keyGroups)),
  );
}

/**
 * The record the leader writes when checkpoint `id` of `term` completes with `pieces`. With
 * `keyGroups` (a job owning its keyed state per key group, K), the key groups never named yet go
 * in as `neverNamed`.
 */
export function completedRecordOf(
  checkpoint: { readonly id: number; readonly term: number },
  pieces: readonly AckRecord[],
  previous: CompletedRecord | undefined,
  keyGroups?: number,
): CompletedRecord {
  const carried = carryForward(previous, pieces);
  const neverNamed = keyGroups === undefined ? [] : neverNamedAfter(previous, pieces, keyGroups);
  return {
    id: checkpoint.id,
    term: checkpoint.term,
    pieces,
    ...(carried.length > 0 ? { carried } : {}),
    ...(neverNamed.length > 0 ? { neverNamed } : {}),
  };
}
