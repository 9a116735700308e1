import { z } from 'zod';
import { TributaryError, errorMessage } from '../../../errors.js';
import { streamKey } from '../../controller/types.js';
import { parseSegmentName } from '../../protocol/index.js';
import type { ReaderGroupConfig, ReaderGroupStream } from './reader-group-config.js';

/**
 * The shared state of a reader group, as one JSON document in the group's table segment (see
 * state-table.ts). Segments are named by their qualified segment name (`scope/stream/N.#epoch.E`).
 *
 * Every segment the group knows is in exactly one of:
 * - `unassigned`: readable, nobody owns it (offset to read from);
 * - `assigned`: owned by one online reader (offset at which it took it over);
 * - `futures`: a successor not readable yet; `waitingFor` lists predecessors still unread;
 * - `completed`: read to its end, kept while a future still names it as predecessor (so that
 *   checkpoints and stream cuts cover its key range) or when it has no successor at all (the end
 *   of a sealed stream, or of an end cut) so that a stream never drops out of a cut.
 *
 * Transitions (membership.ts, assignment.ts, completion.ts, checkpoints.ts) are pure: they copy
 * the state, change the copy and report side effects on checkpoint records.
 */

export type SegmentKey = string;

/** A routing-key range [min, max). */
export type KeyRange = readonly [number, number];

export interface Assignment {
  readonly reader: string;
  /** where the reader started reading the segment */
  readonly acquiredAt: bigint;
}

export interface FutureSegment {
  readonly predecessors: readonly SegmentKey[];
  readonly waitingFor: readonly SegmentKey[];
  /** readers that completed its predecessors so far */
  readonly completedBy: readonly string[];
}

/**
 * An unassigned segment handed over (given back, or made readable by its predecessors' completion)
 * under `handover: 'at-checkpoint'`: only a reader that passed checkpoint number `seq` or a later
 * one may take it — or the one reader that read it (or all its predecessors) before.
 */
export interface Gate {
  readonly seq: number;
  readonly owners: readonly string[];
}

export interface CompletedSegment {
  readonly end: bigint;
  /** no successors will follow (sealed stream, or the segment ends at the end cut) */
  readonly terminal: boolean;
}

export interface OutstandingCheckpoint {
  readonly name: string;
  /** number of the checkpoint within the generation (0, 1, ...) */
  readonly seq: number;
  /** readers online at initiation that have not recorded their part yet */
  readonly waitingFor: readonly string[];
  readonly positions: ReadonlyMap<SegmentKey, bigint>;
}

export interface CompletedCheckpoint {
  readonly name: string;
  readonly positions: ReadonlyMap<SegmentKey, bigint>;
}

export interface Member {
  /** random per join, so that a reader declared offline cannot pass for a new one of the same id */
  readonly session: string;
  /** number of the last checkpoint it recorded its part of (-1: none) */
  readonly passed: number;
}

export interface GroupState {
  /** bumped by every reset; readers of an older generation are out of the group */
  readonly generation: number;
  readonly config: ReaderGroupConfig;
  /** key ranges of the segments the group started from (the successor rule needs them) */
  readonly startRanges: ReadonlyMap<SegmentKey, KeyRange>;
  readonly members: ReadonlyMap<string, Member>;
  readonly assigned: ReadonlyMap<SegmentKey, Assignment>;
  readonly unassigned: ReadonlyMap<SegmentKey, bigint>;
  readonly futures: ReadonlyMap<SegmentKey, FutureSegment>;
  readonly completed: ReadonlyMap<SegmentKey, CompletedSegment>;
  /** unassigned segments that wait for a checkpoint before another reader may take them */
  readonly gates: ReadonlyMap<SegmentKey, Gate>;
  /** number of the next checkpoint to be initiated */
  readonly checkpointSeq: number;
  /** in initiation order */
  readonly checkpoints: readonly OutstandingCheckpoint[];
  readonly lastCheckpoint: CompletedCheckpoint | undefined;
  /** names of recently finished (completed or cancelled) checkpoints, oldest first */
  readonly history: readonly string[];
}

/** A mutable copy, for transitions to edit. */
export interface Draft {
  generation: number;
  config: ReaderGroupConfig;
  startRanges: Map<SegmentKey, KeyRange>;
  members: Map<string, Member>;
  assigned: Map<SegmentKey, Assignment>;
  unassigned: Map<SegmentKey, bigint>;
  futures: Map<SegmentKey, FutureSegment>;
  completed: Map<SegmentKey, CompletedSegment>;
  gates: Map<SegmentKey, Gate>;
  checkpointSeq: number;
  checkpoints: OutstandingCheckpoint[];
  lastCheckpoint: CompletedCheckpoint | undefined;
  history: string[];
}

export function draftOf(state: GroupState): Draft {
  return {
    generation: state.generation,
    config: state.config,
    startRanges: new Map(state.startRanges),
    members: new Map(state.members),
    assigned: new Map(state.assigned),
    unassigned: new Map(state.unassigned),
    futures: new Map(state.futures),
    completed: new Map(state.completed),
    gates: new Map(state.gates),
    checkpointSeq: state.checkpointSeq,
    checkpoints: [...state.checkpoints],
    lastCheckpoint: state.lastCheckpoint,
    history: [...state.history],
  };
}

/** What a transition did besides changing the state: checkpoint records to write or drop. */
export interface Effects {
  readonly initiated: string[];
  readonly completed: CompletedCheckpoint[];
  readonly cancelled: string[];
  /** names dropped from the history: their records may be deleted */
  readonly forgotten: string[];
}

export function noEffects(): Effects {
  return { initiated: [], completed: [], cancelled: [], forgotten: [] };
}

/**
 * The outcome of a transition: `state` undefined means nothing changed (nothing to write).
 */
export interface Transition<R> {
  readonly state: GroupState | undefined;
  readonly result: R;
  readonly effects: Effects;
}

export function unchanged<R>(result: R): Transition<R> {
  return { state: undefined, result, effects: noEffects() };
}

/** Checkpoint names kept in the history (and records kept in the table). */
export const CHECKPOINT_HISTORY = 16;

// ---- queries ----

export function streamOfSegment(key: SegmentKey): string {
  const p = parseSegmentName(key);
  return streamKey(p);
}

export function segmentsOf(state: GroupState, reader: string): SegmentKey[] {
  const out: SegmentKey[] = [];
  for (const [key, a] of state.assigned) if (a.reader === reader) out.push(key);
  return out;
}

export function requireMember(state: GroupState, reader: string, session?: string): void {
  const member = state.members.get(reader);
  if (member === undefined || (session !== undefined && member.session !== session)) {
    throw new TributaryError(
      'READER_NOT_IN_GROUP',
      `reader ${reader} is not online in the reader group (it was declared offline, or the group was reset)`,
      { details: { reader, generation: state.generation } },
    );
  }
}

/** Nothing is left to read: every segment of every stream was read to its end (or end cut). */
export function isEndOfData(
  state: Pick<GroupState, 'assigned' | 'unassigned' | 'futures'>,
): boolean {
  return state.assigned.size === 0 && state.unassigned.size === 0 && state.futures.size === 0;
}

/** The end-cut offset of a segment, if the group ends inside it. */
export function endOffsetOf(config: ReaderGroupConfig, key: SegmentKey): bigint | undefined {
  const p = parseSegmentName(key);
  const entry = config.streams.find(
    (s) => s.stream.scope === p.scope && s.stream.stream === p.stream,
  );
  return entry?.end?.positions.get(p.segmentId);
}

/**
 * The group's position now as far as the state knows it: unassigned and kept completed segments,
 * and assigned ones at `readerPositions` (or, lacking those, where their reader took them over).
 * Per stream: `scope/stream` → segment id → offset.
 */
export function positionsOf(
  state: GroupState,
  readerPositions?: ReadonlyMap<SegmentKey, bigint>,
): Map<SegmentKey, bigint> {
  const out = new Map<SegmentKey, bigint>();
  for (const [key, offset] of state.unassigned) out.set(key, offset);
  for (const [key, c] of state.completed) out.set(key, c.end);
  for (const [key, a] of state.assigned) out.set(key, readerPositions?.get(key) ?? a.acquiredAt);
  return out;
}

// ---- JSON codec ----

const Dec = z.string().regex(/^\d+$/);
const CutJson = z.array(z.tuple([Dec, Dec])).nullable();

const ConfigJson = z
  .object({
    streams: z.array(
      z.object({ scope: z.string(), stream: z.string(), start: CutJson, end: CutJson }).strict(),
    ),
    maxOutstandingCheckpoints: z.number().int().min(1),
    refreshIntervalMs: z.number().int().min(1),
    heartbeatIntervalMs: z.number().int().min(1),
    readerTimeoutMs: z.number().int().min(1),
    handover: z.enum(['immediate', 'at-checkpoint']).default('immediate'),
  })
  .strict();

const PositionsJson = z.record(z.string(), Dec);

const StateJson = z
  .object({
    v: z.literal(1),
    generation: z.number().int().min(0),
    config: ConfigJson,
    startRanges: z.record(z.string(), z.tuple([z.number(), z.number()])),
    members: z.record(
      z.string(),
      z.object({ session: z.string(), passed: z.number().int().default(-1) }).strict(),
    ),
    assigned: z.record(z.string(), z.object({ reader: z.string(), acquiredAt: Dec }).strict()),
    unassigned: PositionsJson,
    futures: z.record(
      z.string(),
      z
        .object({
          predecessors: z.array(z.string()),
          waitingFor: z.array(z.string()),
          completedBy: z.array(z.string()).default([]),
        })
        .strict(),
    ),
    completed: z.record(z.string(), z.object({ end: Dec, terminal: z.boolean() }).strict()),
    gates: z
      .record(z.string(), z.object({ seq: z.number().int(), owners: z.array(z.string()) }).strict())
      .default({}),
    checkpointSeq: z.number().int().min(0).default(0),
    checkpoints: z.array(
      z
        .object({
          name: z.string(),
          seq: z.number().int().default(0),
          waitingFor: z.array(z.string()),
          positions: PositionsJson,
        })
        .strict(),
    ),
    lastCheckpoint: z.object({ name: z.string(), positions: PositionsJson }).strict().nullable(),
    history: z.array(z.string()),
  })
  .strict();

function cutToJson(cut: ReaderGroupStream['start']): [string, string][] | null {
  if (cut === undefined) return null;
  return [...cut.positions].map(([s, o]) => [s.toString(), o.toString()]);
}

function positionsToJson(map: ReadonlyMap<SegmentKey, bigint>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of map) out[k] = v.toString();
  return out;
}

function positionsFromJson(rec: Record<string, string>): Map<SegmentKey, bigint> {
  return new Map(Object.entries(rec).map(([k, v]) => [k, BigInt(v)]));
}

export function configToJson(config: ReaderGroupConfig): z.input<typeof ConfigJson> {
  return {
    streams: config.streams.map((s) => ({
      scope: s.stream.scope,
      stream: s.stream.stream,
      start: cutToJson(s.start),
      end: cutToJson(s.end),
    })),
    maxOutstandingCheckpoints: config.maxOutstandingCheckpoints,
    refreshIntervalMs: config.refreshIntervalMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    readerTimeoutMs: config.readerTimeoutMs,
    handover: config.handover,
  };
}

function configFromJson(json: z.output<typeof ConfigJson>): ReaderGroupConfig {
  return {
    streams: json.streams.map((s) => {
      const stream = { scope: s.scope, stream: s.stream };
      const cut = (c: [string, string][] | null) =>
        c === null
          ? undefined
          : { stream, positions: new Map(c.map(([id, off]) => [BigInt(id), BigInt(off)])) };
      const start = cut(s.start);
      const end = cut(s.end);
      return {
        stream,
        ...(start !== undefined ? { start } : {}),
        ...(end !== undefined ? { end } : {}),
      };
    }),
    maxOutstandingCheckpoints: json.maxOutstandingCheckpoints,
    refreshIntervalMs: json.refreshIntervalMs,
    heartbeatIntervalMs: json.heartbeatIntervalMs,
    readerTimeoutMs: json.readerTimeoutMs,
    handover: json.handover,
  };
}

export function encodeState(state: GroupState): Buffer {
  const json: z.input<typeof StateJson> = {
    v: 1,
    generation: state.generation,
    config: configToJson(state.config),
    startRanges: Object.fromEntries(
      [...state.startRanges].map(([k, r]) => [k, [r[0], r[1]] as [number, number]]),
    ),
    members: Object.fromEntries(
      [...state.members].map(([k, m]) => [k, { session: m.session, passed: m.passed }]),
    ),
    assigned: Object.fromEntries(
      [...state.assigned].map(([k, a]) => [
        k,
        { reader: a.reader, acquiredAt: a.acquiredAt.toString() },
      ]),
    ),
    unassigned: positionsToJson(state.unassigned),
    futures: Object.fromEntries(
      [...state.futures].map(([k, f]) => [
        k,
        {
          predecessors: [...f.predecessors],
          waitingFor: [...f.waitingFor],
          completedBy: [...f.completedBy],
        },
      ]),
    ),
    gates: Object.fromEntries(
      [...state.gates].map(([k, g]) => [k, { seq: g.seq, owners: [...g.owners] }]),
    ),
    checkpointSeq: state.checkpointSeq,
    completed: Object.fromEntries(
      [...state.completed].map(([k, c]) => [k, { end: c.end.toString(), terminal: c.terminal }]),
    ),
    checkpoints: state.checkpoints.map((c) => ({
      name: c.name,
      seq: c.seq,
      waitingFor: [...c.waitingFor],
      positions: positionsToJson(c.positions),
    })),
    lastCheckpoint:
      state.lastCheckpoint === undefined
        ? null
        : {
            name: state.lastCheckpoint.name,
            positions: positionsToJson(state.lastCheckpoint.positions),
          },
    history: [...state.history],
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

export function decodeState(data: Buffer, where: string): GroupState {
  let json: z.output<typeof StateJson>;
  try {
    json = StateJson.parse(JSON.parse(data.toString('utf8')));
  } catch (err) {
    throw new TributaryError(
      'STATE_CORRUPT',
      `reader group state in ${where} is not readable: ${errorMessage(err).slice(0, 300)}`,
      { cause: err },
    );
  }
  return {
    generation: json.generation,
    config: configFromJson(json.config),
    startRanges: new Map(
      Object.entries(json.startRanges).map(([k, r]) => [k, [r[0], r[1]] as const]),
    ),
    members: new Map(
      Object.entries(json.members).map(([k, m]) => [k, { session: m.session, passed: m.passed }]),
    ),
    assigned: new Map(
      Object.entries(json.assigned).map(([k, a]) => [
        k,
        { reader: a.reader, acquiredAt: BigInt(a.acquiredAt) },
      ]),
    ),
    unassigned: positionsFromJson(json.unassigned),
    futures: new Map(Object.entries(json.futures)),
    completed: new Map(
      Object.entries(json.completed).map(([k, c]) => [
        k,
        { end: BigInt(c.end), terminal: c.terminal },
      ]),
    ),
    gates: new Map(Object.entries(json.gates)),
    checkpointSeq: json.checkpointSeq,
    checkpoints: json.checkpoints.map((c) => ({
      name: c.name,
      seq: c.seq,
      waitingFor: c.waitingFor,
      positions: positionsFromJson(c.positions),
    })),
    lastCheckpoint:
      json.lastCheckpoint === null
        ? undefined
        : {
            name: json.lastCheckpoint.name,
            positions: positionsFromJson(json.lastCheckpoint.positions),
          },
    history: json.history,
  };
}
