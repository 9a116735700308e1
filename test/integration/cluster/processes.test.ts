import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ClusterMember, SegmentCoordinationTable, waitUntil } from '../../../src/cluster/index.js';
import { randomScope } from '../../support/endpoints.js';
import { TIMINGS, WAIT_MS } from './cluster-support.js';

const CHILD = fileURLToPath(new URL('./member-process.ts', import.meta.url));

interface Line {
  readonly workerId: string;
  readonly event: string;
  readonly dead?: string;
}

/**
 * Members in separate processes share nothing but the Pravega server, so this runs against the
 * real server only: the embedded store is owned by one process (its directory is locked).
 */
describe('cluster members in separate processes (real server)', () => {
  const children: ChildProcess[] = [];
  const lines: Line[] = [];

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  function start(uri: string, scope: string, job: string, workerId: string): ChildProcess {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, JSON.stringify({ uri, scope, job, workerId })],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          lines.push(JSON.parse(text) as Line);
        } catch {
          // not one of ours
        }
      }
    });
    children.push(child);
    return child;
  }

  it('a SIGKILLed member is declared dead and every other member sees it', async () => {
    const uri = inject('pravega').controllerUri;
    const scope = randomScope('cluster');
    const job = 'processes';
    const client = await PravegaClient.connect(uri);
    try {
      await client.createScope(scope);
      const ids = ['p0', 'p1', 'p2'];
      const procs = new Map(ids.map((id) => [id, start(uri, scope, job, id)]));
      await waitUntil(
        () => ids.every((id) => lines.some((l) => l.workerId === id && l.event === 'joined')),
        WAIT_MS * 2,
        'all three processes join',
      );
      await waitUntil(
        () => lines.some((l) => l.event === 'leader'),
        WAIT_MS,
        'one process is elected leader',
      );
      const leader = lines.find((l) => l.event === 'leader')!.workerId;
      // kill a member that does not lead: the leader declares it dead
      const victim = ids.find((id) => id !== leader)!;
      const killedAt = Date.now();
      procs.get(victim)!.kill('SIGKILL');
      const survivors = ids.filter((id) => id !== victim);
      await waitUntil(
        () =>
          survivors.every((id) =>
            lines.some((l) => l.workerId === id && l.event === 'sees-dead' && l.dead === victim),
          ),
        WAIT_MS,
        `both survivors see ${victim} dead`,
      );
      console.log(
        `[cluster] ${victim} SIGKILLed: seen dead by every survivor after ${Date.now() - killedAt} ms (deadAfterMs ${TIMINGS.deadAfterMs})`,
      );
      // a third view, from outside the processes: the table says dead, declared by the leader
      const table = SegmentCoordinationTable.forJob(client.segmentStore, scope, job);
      const observer = await ClusterMember.join(table, { ...TIMINGS, manual: true });
      const records = await observer.members();
      expect(records.find((m) => m.workerId === victim)).toMatchObject({
        state: 'dead',
        deadBy: leader,
      });
      expect(
        records
          .filter((m) => m.state === 'alive')
          .map((m) => m.workerId)
          .sort(),
      ).toEqual([...survivors, observer.workerId].sort());
      await observer.leave();
      // the survivors leave cleanly when told to
      for (const id of survivors) procs.get(id)!.stdin?.end();
      await waitUntil(
        () => survivors.every((id) => procs.get(id)!.exitCode !== null),
        WAIT_MS,
        'the survivors exit after leaving',
      );
      expect(survivors.map((id) => procs.get(id)!.exitCode)).toEqual([0, 0]);
      await table.destroy();
    } finally {
      await client.close();
    }
  });
});
