/**
 * One cluster member in its own process, for the multi-process test: joins the job's table on the
 * given server and prints one JSON line per thing it sees (joined, leader, dead members), until it
 * is killed or told to leave (stdin closes).
 */
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ClusterMember, SegmentCoordinationTable } from '../../../src/cluster/index.js';
import { TIMINGS } from './cluster-support.js';

interface Args {
  readonly uri: string;
  readonly scope: string;
  readonly job: string;
  readonly workerId: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const say = (line: object): void => {
  process.stdout.write(`${JSON.stringify({ workerId: args.workerId, ...line })}\n`);
};

const client = await PravegaClient.connect(args.uri);
const member = await ClusterMember.join(
  SegmentCoordinationTable.forJob(client.segmentStore, args.scope, args.job),
  {
    ...TIMINGS,
    workerId: args.workerId,
    onEvent: (e) => {
      if (e.type === 'leader-elected') say({ event: 'leader', term: e.term });
      if (e.type === 'fenced') say({ event: 'fenced' });
    },
  },
);
say({ event: 'joined', epoch: member.epoch });

// every member watches the membership (as a status page would) and reports who it sees dead
const reported = new Set<string>();
const watch = setInterval(() => {
  member.members().then(
    (all) => {
      for (const m of all) {
        if (m.state === 'dead' && !reported.has(m.workerId)) {
          reported.add(m.workerId);
          say({ event: 'sees-dead', dead: m.workerId, by: m.deadBy });
        }
      }
    },
    () => undefined,
  );
}, TIMINGS.heartbeatMs);

process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(watch);
  void member
    .leave()
    .finally(() => client.close())
    .finally(() => process.exit(0));
});
