import type { CoordinationTable } from './coordination-table.js';
import {
  CHECKPOINT_KEY,
  COMPLETED_KEY,
  LEADER_KEY,
  MEMBER_PREFIX,
  parseCheckpoint,
  parseLeader,
  parseMember,
  type MemberState,
} from './records.js';

/**
 * What a job's coordination table says about its workers right now, for people: `tributary
 * workers <job>`, the status page and the metrics of a worker. Plain JSON-safe data.
 */
export interface ClusterView {
  readonly job: string;
  /** the table it was read from, for messages */
  readonly where: string;
  /** Alive members first, then by worker id. */
  readonly members: readonly ClusterMemberView[];
  readonly leader: { readonly workerId: string; readonly term: number } | undefined;
  /** the latest checkpoint completed across the workers */
  readonly completedCheckpoint: number | undefined;
  /** the leader's latest proposal, when it is still pending */
  readonly pendingCheckpoint: number | undefined;
}

export interface ClusterMemberView {
  readonly workerId: string;
  readonly state: MemberState;
  readonly epoch: number;
  readonly host: string;
  readonly pid: number;
  /** wall clock of its join on its own host */
  readonly joinedAt: number;
  /** its heartbeat counter: moves while it lives */
  readonly beat: number;
  readonly leader: boolean;
  /** who declared it dead */
  readonly deadBy?: string;
}

const STATE_ORDER: Readonly<Record<MemberState, number>> = { alive: 0, left: 1, dead: 2 };

/** Reads the view in two calls (the member records, then leader/checkpoint/completed). */
export async function readClusterView(table: CoordinationTable, job: string): Promise<ClusterView> {
  const records = await table.list(MEMBER_PREFIX);
  const [leaderRecord, checkpointRecord, completedRecord] = await table.get([
    LEADER_KEY,
    CHECKPOINT_KEY,
    COMPLETED_KEY,
  ]);
  const leader =
    leaderRecord === undefined ? undefined : parseLeader(leaderRecord.key, leaderRecord.value);
  const leading = leader === undefined || leader.vacant === true ? undefined : leader;
  const checkpoint =
    checkpointRecord === undefined
      ? undefined
      : parseCheckpoint(checkpointRecord.key, checkpointRecord.value);
  const members = records
    .map((r) => parseMember(r.key, r.value))
    .map((m): ClusterMemberView => ({
      workerId: m.workerId,
      state: m.state,
      epoch: m.epoch,
      host: m.host,
      pid: m.pid,
      joinedAt: m.joinedAt,
      beat: m.beat,
      leader:
        leading !== undefined &&
        m.state === 'alive' &&
        leading.workerId === m.workerId &&
        leading.epoch === m.epoch,
      ...(m.deadBy !== undefined ? { deadBy: m.deadBy } : {}),
    }))
    .sort(
      (a, b) =>
        STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
        (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0),
    );
  return {
    job,
    where: table.where,
    members,
    leader: leading === undefined ? undefined : { workerId: leading.workerId, term: leading.term },
    // only the id: the record also holds every piece (tens of KB with many workers)
    completedCheckpoint: completedId(completedRecord?.value),
    pendingCheckpoint: checkpoint?.state === 'pending' ? checkpoint.id : undefined,
  };
}

function completedId(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined;
}
