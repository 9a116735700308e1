import { describe, expect, it } from 'vitest';
import { decideCheckpoint } from '../../../src/cluster/checkpoint-decision.js';
import type { AckRecord, CheckpointRecord, MemberRecord } from '../../../src/cluster/records.js';

const member = (
  workerId: string,
  epoch = 1,
  state: MemberRecord['state'] = 'alive',
): MemberRecord => ({
  workerId,
  epoch,
  host: 'h',
  pid: 1,
  joinedAt: 0,
  beat: 1,
  state,
});
const ack = (workerId: string, checkpointId = 7, epoch = 1): AckRecord => ({
  checkpointId,
  workerId,
  epoch,
  piece: { workerId },
});
const checkpoint: CheckpointRecord = {
  id: 7,
  term: 3,
  state: 'pending',
  members: [
    { workerId: 'a', epoch: 1 },
    { workerId: 'b', epoch: 1 },
  ],
};
const members = (...ms: MemberRecord[]) => new Map(ms.map((m) => [m.workerId, m]));
const base = { checkpoint, term: 3, pendingMs: 0, timeoutMs: 1000 };

describe('decideCheckpoint', () => {
  it('completes when every participant acked with its epoch', () => {
    const d = decideCheckpoint({
      ...base,
      acks: [ack('b'), ack('a')],
      members: members(member('a'), member('b')),
    });
    expect(d).toEqual({ kind: 'complete', pieces: [ack('a'), ack('b')] });
  });

  it('counts the ack of a participant that died after acking', () => {
    const d = decideCheckpoint({
      ...base,
      acks: [ack('a'), ack('b')],
      members: members(member('a'), member('b', 1, 'dead')),
    });
    expect(d.kind).toBe('complete');
  });

  it('waits for a live participant that has not acked yet', () => {
    const d = decideCheckpoint({
      ...base,
      acks: [ack('a')],
      members: members(member('a'), member('b')),
    });
    expect(d).toEqual({ kind: 'wait', missing: ['b'] });
  });

  it('aborts when a participant died, left, re-joined or vanished before acking', () => {
    for (const [b, what] of [
      [member('b', 1, 'dead'), 'was declared dead'],
      [member('b', 1, 'left'), 'left'],
      [member('b', 2), 're-joined (epoch 1 → 2)'],
      [undefined, 'is gone'],
    ] as const) {
      const d = decideCheckpoint({
        ...base,
        acks: [ack('a')],
        members: b === undefined ? members(member('a')) : members(member('a'), b),
      });
      expect(d).toEqual({
        kind: 'abort',
        reason: `worker b ${what} before acknowledging checkpoint 7`,
      });
    }
  });

  it('ignores acks of another epoch or another checkpoint', () => {
    const d = decideCheckpoint({
      ...base,
      acks: [ack('a', 7, 0), ack('b', 6)],
      members: members(member('a'), member('b')),
    });
    expect(d).toEqual({ kind: 'wait', missing: ['a', 'b'] });
  });

  it('aborts a checkpoint of an earlier leader term, and one that timed out', () => {
    expect(
      decideCheckpoint({ ...base, term: 4, acks: [], members: members(member('a'), member('b')) })
        .kind,
    ).toBe('abort');
    const d = decideCheckpoint({
      ...base,
      pendingMs: 1001,
      acks: [ack('a')],
      members: members(member('a'), member('b')),
    });
    expect(d).toEqual({
      kind: 'abort',
      reason: 'checkpoint 7 timed out after 1000 ms waiting for b',
    });
  });
});
