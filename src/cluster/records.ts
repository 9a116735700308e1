import { TributaryError } from '../errors.js';
import { asStateHandles, type StateHandle } from './state-handles.js';

/**
 * The records of a job's coordination table and their keys. Every record is JSON; every change is
 * a conditional update on the key's version (see cluster-member.ts for who writes what).
 *
 * | key                  | written by                        | holds                         |
 * |----------------------|-----------------------------------|-------------------------------|
 * | `member/<workerId>`  | the worker (beats, acks), the leader (declare dead) | {@link MemberRecord} |
 * | `leader`             | the leader (renewals), a candidate (election)       | {@link LeaderRecord} |
 * | `checkpoint`         | the leader                        | the latest proposed checkpoint |
 * | `ack/<id>/<workerId>`| the worker                        | its piece of checkpoint `id`  |
 * | `completed`          | the leader                        | the latest completed checkpoint, with every piece |
 */

export const LEADER_KEY = 'leader';
export const CHECKPOINT_KEY = 'checkpoint';
export const COMPLETED_KEY = 'completed';
export const MEMBER_PREFIX = 'member/';
export const ACK_PREFIX = 'ack/';

export const memberKey = (workerId: string): string => `${MEMBER_PREFIX}${workerId}`;
export const ackKey = (checkpointId: number, workerId: string): string =>
  `${ACK_PREFIX}${checkpointId}/${workerId}`;

export type MemberState = 'alive' | 'left' | 'dead';

export interface MemberRecord {
  readonly workerId: string;
  /** the fencing epoch: 1 on first join, +1 on every re-join of the same worker id */
  readonly epoch: number;
  readonly host: string;
  readonly pid: number;
  /** wall clock of the join, for people (never compared across machines) */
  readonly joinedAt: number;
  /** incremented by every write of the worker itself: makes each of its writes recognisable */
  readonly beat: number;
  readonly state: MemberState;
  /** who declared it dead, and why */
  readonly deadBy?: string;
  readonly info?: Record<string, unknown>;
}

export interface LeaderRecord {
  readonly workerId: string;
  /** the leader's member epoch */
  readonly epoch: number;
  /** the leadership term: +1 at every election, carried by every checkpoint the leader proposes */
  readonly term: number;
  readonly beat: number;
  /** the leader left: the next candidate takes over at once (the term still counts up) */
  readonly vacant?: boolean;
}

export interface Participant {
  readonly workerId: string;
  readonly epoch: number;
}

export type CheckpointState = 'pending' | 'completed' | 'aborted';

export interface CheckpointRecord {
  readonly id: number;
  readonly term: number;
  readonly state: CheckpointState;
  /** the live members when it was proposed: each must ack */
  readonly members: readonly Participant[];
  readonly reason?: string;
}

export interface AckRecord {
  readonly checkpointId: number;
  readonly workerId: string;
  readonly epoch: number;
  readonly piece: unknown;
}

export interface CompletedRecord {
  readonly id: number;
  readonly term: number;
  readonly pieces: readonly AckRecord[];
  /**
   * Keyed state carried forward from earlier completed checkpoints: the key groups no piece of
   * this one names (owned by nobody at it: their segment released and not yet acquired, or their
   * worker dead and not yet replaced) keep the handle that last named them
   * (`key-group-ownership.ts`). Absent: none.
   */
  readonly carried?: readonly CarriedState[];
  /**
   * Key groups `[start, end)` that no completed checkpoint of the job has named yet (a job whose
   * state after an exchange edge is owned per segment, before every segment found a reader):
   * their state is empty. Absent: none (or a job that does not own state per key group).
   */
  readonly neverNamed?: readonly (readonly [number, number])[];
}

/** A handle carried forward into a later completed record (see {@link CompletedRecord.carried}). */
export interface CarriedState {
  /** the worker that wrote it */
  readonly workerId: string;
  /** its `keyGroups` narrowed to the ranges no later piece named */
  readonly handle: StateHandle;
}

function corrupt(key: string, why: string): TributaryError {
  return new TributaryError(
    'STATE_CORRUPT',
    `cluster record "${key}" is malformed (${why}): it was not written by this version of tributary; stop the job's workers and delete its coordination table`,
    { details: { key } },
  );
}

function object(key: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(key, 'not an object');
  }
  return value as Record<string, unknown>;
}

function int(key: string, o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw corrupt(key, `${field} is not a non-negative integer`);
  }
  return v;
}

function str(key: string, o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0) throw corrupt(key, `${field} is not a string`);
  return v;
}

function oneOf<T extends string>(
  key: string,
  o: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
): T {
  const v = o[field];
  if (!allowed.includes(v as T)) throw corrupt(key, `${field} is not one of ${allowed.join(', ')}`);
  return v as T;
}

function participants(key: string, v: unknown): Participant[] {
  if (!Array.isArray(v)) throw corrupt(key, 'members is not a list');
  return v.map((p) => {
    const o = object(key, p);
    return { workerId: str(key, o, 'workerId'), epoch: int(key, o, 'epoch') };
  });
}

export function parseMember(key: string, value: unknown): MemberRecord {
  const o = object(key, value);
  const info = o['info'];
  return {
    workerId: str(key, o, 'workerId'),
    epoch: int(key, o, 'epoch'),
    host: str(key, o, 'host'),
    pid: int(key, o, 'pid'),
    joinedAt: int(key, o, 'joinedAt'),
    beat: int(key, o, 'beat'),
    state: oneOf(key, o, 'state', ['alive', 'left', 'dead'] as const),
    ...(typeof o['deadBy'] === 'string' ? { deadBy: o['deadBy'] } : {}),
    ...(typeof info === 'object' && info !== null ? { info: info as Record<string, unknown> } : {}),
  };
}

export function parseLeader(key: string, value: unknown): LeaderRecord {
  const o = object(key, value);
  return {
    workerId: str(key, o, 'workerId'),
    epoch: int(key, o, 'epoch'),
    term: int(key, o, 'term'),
    beat: int(key, o, 'beat'),
    ...(o['vacant'] === true ? { vacant: true } : {}),
  };
}

export function parseCheckpoint(key: string, value: unknown): CheckpointRecord {
  const o = object(key, value);
  return {
    id: int(key, o, 'id'),
    term: int(key, o, 'term'),
    state: oneOf(key, o, 'state', ['pending', 'completed', 'aborted'] as const),
    members: participants(key, o['members']),
    ...(typeof o['reason'] === 'string' ? { reason: o['reason'] } : {}),
  };
}

export function parseAck(key: string, value: unknown): AckRecord {
  const o = object(key, value);
  return {
    checkpointId: int(key, o, 'checkpointId'),
    workerId: str(key, o, 'workerId'),
    epoch: int(key, o, 'epoch'),
    piece: o['piece'],
  };
}

export function parseCompleted(key: string, value: unknown): CompletedRecord {
  const o = object(key, value);
  const pieces = o['pieces'];
  if (!Array.isArray(pieces)) throw corrupt(key, 'pieces is not a list');
  const carried = o['carried'];
  if (carried !== undefined && !Array.isArray(carried)) throw corrupt(key, 'carried is not a list');
  return {
    id: int(key, o, 'id'),
    term: int(key, o, 'term'),
    pieces: pieces.map((p) => parseAck(key, p)),
    ...(carried !== undefined
      ? {
          carried: carried.map((c) => {
            const co = object(key, c);
            return {
              workerId: str(key, co, 'workerId'),
              handle: asStateHandles([co['handle']])[0]!,
            };
          }),
        }
      : {}),
    ...(o['neverNamed'] !== undefined ? { neverNamed: ranges(key, o['neverNamed']) } : {}),
  };
}

function ranges(key: string, value: unknown): [number, number][] {
  if (!Array.isArray(value)) throw corrupt(key, 'neverNamed is not a list');
  return value.map((r: unknown) => {
    if (
      !Array.isArray(r) ||
      r.length !== 2 ||
      !Number.isSafeInteger(r[0]) ||
      !Number.isSafeInteger(r[1]) ||
      (r[0] as number) < 0 ||
      (r[0] as number) >= (r[1] as number)
    )
      throw corrupt(key, 'neverNamed holds something that is not a key-group range [start, end)');
    return [r[0] as number, r[1] as number];
  });
}
