import { join } from 'node:path';
import type { CheckpointData, OperatorSubtaskState } from './checkpoint-data.js';
import { STATE_PIECES_DIR } from './checkpoint-storage.js';
import { decodeState, type StateValue } from './state-codec.js';

/** State handed to one new subtask of one operator. */
export interface SubtaskRestore {
  readonly items: readonly StateValue[];
  readonly keyGroups: ReadonlyMap<number, StateValue>;
  /** Where the keyed state pieces that `keyGroups` reference live (durable checkpoints only). */
  readonly piecesDir?: string;
}

/**
 * Redistributes an operator's checkpointed state to a (possibly different) parallelism:
 * list items go back to the same subtask when the parallelism is unchanged, else round-robin;
 * keyed state goes to the subtask that owns each key group. Returns undefined when the
 * checkpoint has no state for the operator. Every call decodes afresh (no sharing).
 */
export function restoreSubtask(
  data: CheckpointData,
  uid: string,
  subtask: number,
  parallelism: number,
  keyGroupRange: { start: number; end: number },
): SubtaskRestore | undefined {
  const op = data.operators[uid];
  if (op === undefined) return undefined;
  const subtasks: OperatorSubtaskState[] = op.subtasks.filter(
    (s): s is OperatorSubtaskState => s !== undefined && s !== null,
  );
  let items: StateValue[];
  if (op.parallelism === parallelism) {
    items = (op.subtasks[subtask]?.items ?? []).map((item) => decodeState(item));
  } else {
    const all = subtasks.flatMap((s) => s.items);
    items = all.filter((_, i) => i % parallelism === subtask).map((item) => decodeState(item));
  }
  const keyGroups = new Map<number, StateValue>();
  for (const s of subtasks) {
    for (const [group, state] of s.keyGroups) {
      if (group >= keyGroupRange.start && group < keyGroupRange.end)
        keyGroups.set(group, decodeState(state));
    }
  }
  return {
    items,
    keyGroups,
    ...(data.location === undefined ? {} : { piecesDir: join(data.location, STATE_PIECES_DIR) }),
  };
}
