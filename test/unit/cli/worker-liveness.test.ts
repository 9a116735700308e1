import { describe, expect, it } from 'vitest';
import type { ClusterMemberView } from '../../../src/cluster/index.js';
import { listedMembers, stateText } from '../../../src/cli/worker-liveness.js';
import { processAlive as processExists } from '../../../src/runtime/job-lock.js';

const member = (over: Partial<ClusterMemberView>): ClusterMemberView => ({
  workerId: 'w1',
  state: 'alive',
  epoch: 1,
  host: 'here',
  pid: 100,
  joinedAt: 0,
  beat: 3,
  leader: false,
  ...over,
});

describe('tributary workers: what a listed member is', () => {
  it('shows a member recorded alive on this host whose process is gone as gone; others as recorded', () => {
    const running = new Set([100]);
    const listed = listedMembers(
      [
        member({ workerId: 'a', pid: 100 }),
        member({ workerId: 'b', pid: 200 }),
        member({ workerId: 'c', pid: 200, host: 'elsewhere' }),
        member({ workerId: 'd', pid: 300, state: 'dead', deadBy: 'a' }),
        member({ workerId: 'e', pid: 400, state: 'left' }),
      ],
      'here',
      (pid) => running.has(pid),
    );
    expect(listed.map((m) => [m.workerId, stateText(m)])).toEqual([
      ['a', 'alive'],
      ['b', 'alive as recorded; process 200 is gone'],
      // another host's processes cannot be seen from here
      ['c', 'alive'],
      ['d', 'dead (by a)'],
      ['e', 'left'],
    ]);
    expect(listed.filter((m) => m.processGone === true).map((m) => m.workerId)).toEqual(['b']);
  });

  it('knows this process exists and a finished child does not', async () => {
    expect(processExists(process.pid)).toBe(true);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.once('exit', r));
    expect(processExists(child.pid!)).toBe(false);
  });
});
