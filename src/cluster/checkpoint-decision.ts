import { ownershipConflict } from './key-group-ownership.js';
import type { AckRecord, CheckpointRecord, MemberRecord } from './records.js';

/** What the leader does with a pending checkpoint, given what the table says now. */
export type CheckpointDecision =
  | { readonly kind: 'complete'; readonly pieces: readonly AckRecord[] }
  | { readonly kind: 'abort'; readonly reason: string }
  | { readonly kind: 'wait'; readonly missing: readonly string[] };

export interface DecisionInput {
  readonly checkpoint: CheckpointRecord;
  /** the leader's term now */
  readonly term: number;
  /** acks found for the checkpoint, any order */
  readonly acks: readonly AckRecord[];
  /** the members as last listed, by worker id */
  readonly members: ReadonlyMap<string, MemberRecord>;
  /** how long the checkpoint has been pending, and how long it may be */
  readonly pendingMs: number;
  readonly timeoutMs: number;
}

/**
 * Complete when every participant acked with the epoch it had at the proposal; abort when one of
 * them died, left or re-joined (new epoch) before acking, when the checkpoint belongs to an
 * earlier leader's term, when it timed out, or when two pieces name the same key group. An ack of a participant that died after acking
 * still counts: its piece is durable in the table.
 */
export function decideCheckpoint(input: DecisionInput): CheckpointDecision {
  const { checkpoint } = input;
  if (checkpoint.term !== input.term) {
    return {
      kind: 'abort',
      reason: `proposed in leader term ${checkpoint.term}, the leader changed (term ${input.term})`,
    };
  }
  const byWorker = new Map(input.acks.map((a) => [a.workerId, a]));
  const pieces: AckRecord[] = [];
  const missing: string[] = [];
  for (const p of checkpoint.members) {
    const ack = byWorker.get(p.workerId);
    if (ack !== undefined && ack.epoch === p.epoch && ack.checkpointId === checkpoint.id) {
      pieces.push(ack);
      continue;
    }
    const member = input.members.get(p.workerId);
    if (member === undefined || member.epoch !== p.epoch || member.state !== 'alive') {
      const what =
        member === undefined
          ? 'is gone'
          : member.epoch !== p.epoch
            ? `re-joined (epoch ${p.epoch} → ${member.epoch})`
            : member.state === 'dead'
              ? 'was declared dead'
              : 'left';
      return {
        kind: 'abort',
        reason: `worker ${p.workerId} ${what} before acknowledging checkpoint ${checkpoint.id}`,
      };
    }
    missing.push(p.workerId);
  }
  if (missing.length === 0) {
    // two workers claiming one key group cannot both be restored: never write such a record
    const conflict = ownershipConflict(pieces);
    if (conflict !== undefined) return { kind: 'abort', reason: conflict };
    return { kind: 'complete', pieces };
  }
  if (input.pendingMs > input.timeoutMs) {
    return {
      kind: 'abort',
      reason: `checkpoint ${checkpoint.id} timed out after ${input.timeoutMs} ms waiting for ${missing.join(', ')}`,
    };
  }
  return { kind: 'wait', missing };
}
