import { describe, expect, it } from 'vitest';
import { ClusterMember, type CoordinationTable } from '../../../src/cluster/index.js';

/** Options are checked before the table is touched: this table fails any call. */
const untouchable = new Proxy({} as CoordinationTable, {
  get: (_, prop) => {
    throw new Error(`the table was used (${String(prop)}) before the options were checked`);
  },
});

describe('ClusterMember options', () => {
  it.each([
    [{ heartbeatMs: 0 }, /heartbeatMs must be a positive number/],
    [
      { heartbeatMs: 500, deadAfterMs: 1000 },
      /deadAfterMs \(1000\) must be at least 3 × heartbeatMs/,
    ],
    [{ heartbeatMs: 500, leaseMs: 1000 }, /leaseMs \(1000\) must be at least 3 × heartbeatMs/],
    [{ pollMs: 100, followerPollMs: 50 }, /followerPollMs \(50\) must lie between/],
    [{ heartbeatMs: 200, followerPollMs: 300 }, /followerPollMs \(300\) must lie between/],
    [{ workerId: 'a/b' }, /worker id "a\/b" is not valid/],
    [{ checkpointTimeoutMs: Number.NaN }, /checkpointTimeoutMs must be a positive number/],
  ])('refuses %o with a message naming the option', async (options, message) => {
    await expect(ClusterMember.join(untouchable, options)).rejects.toMatchObject({
      code: 'ILLEGAL_ARGUMENT',
      message: expect.stringMatching(message) as unknown,
    });
  });
});
