import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ClusterWorker } from '../../cluster/cluster-worker.js';
import { DEFAULT_CLUSTER_SCOPE, checkClusterController } from '../cluster-run.js';
import { contextOf } from '../context.js';
import { listedMembers, stateText } from '../worker-liveness.js';
import { DEFAULT_CHECKPOINT_ROOT } from './run.js';

/** `tributary workers <job>`: the workers of a job run with `--workers` / `--join`. */
export function registerWorkers(program: Command): void {
  program
    .command('workers')
    .description(
      'list the worker processes of a job run with --workers / --join: state, leader, last completed checkpoint',
    )
    .argument('<job>', 'the job name')
    .option(
      '--cluster-scope <scope>',
      `scope of the job's coordination table (default: ${DEFAULT_CLUSTER_SCOPE})`,
    )
    .option(
      '--purge',
      "end the job for good once every worker has stopped: commit its last completed checkpoint's transactions, delete its reader groups and coordination table, seal and delete a keyed job's state stream (a later run starts from the sources' configured start)",
    )
    .option(
      '--checkpoint-dir <dir>',
      "with --purge: the job's checkpoint directory, whose workers' keyed state (<dir>/workers) is removed too (default: as tributary run, .tributary-checkpoints/<job>)",
    )
    .action(
      async (
        job: string,
        opts: { clusterScope?: string; purge?: boolean; checkpointDir?: string },
        command: Command,
      ) => {
        const { out, controller } = contextOf(command);
        const choice = controller();
        checkClusterController(choice.config);
        const scope = opts.clusterScope ?? DEFAULT_CLUSTER_SCOPE;
        if (opts.purge === true) {
          if (!out.json) out.line(`checking that no worker of job ${job} still beats ...`);
          const stateDir = resolve(opts.checkpointDir ?? join(DEFAULT_CHECKPOINT_ROOT, job));
          const ended = await ClusterWorker.endJob(choice.config, scope, job, { stateDir });
          out.result({ job, purged: true, ...ended }, () =>
            out.line(
              `job ${job} ended for good: ${ended.committed} transaction(s) of checkpoint ${ended.checkpoint ?? '(none completed)'} committed, ${ended.aborted} aborted; deleted reader group(s) ${ended.readerGroups.join(', ') || '(none recorded)'} and the coordination table${ended.stateRemoved !== undefined ? `; removed the workers' keyed state ${ended.stateRemoved}` : ''}${ended.stateStreamRemoved !== undefined ? `; sealed and deleted the state stream ${ended.stateStreamRemoved}` : ''}${ended.edgeStreamsRemoved.length > 0 ? `; sealed and deleted the exchange stream(s) ${ended.edgeStreamsRemoved.join(', ')}` : ''}`,
            ),
          );
          return;
        }
        const described = await ClusterWorker.describe(choice.config, scope, job);
        const view = { ...described, members: listedMembers(described.members) };
        out.result(view, () => {
          const gone = view.members.filter((m) => m.processGone === true).length;
          const alive = view.members.filter((m) => m.state === 'alive').length - gone;
          out.line(
            `job ${job}: ${alive} worker(s) alive of ${view.members.length} recorded${
              gone > 0
                ? ` (${gone} more recorded alive whose process on this host is gone: stopped or killed, declared dead by the next leader)`
                : ''
            }; leader ${
              view.leader === undefined
                ? 'none'
                : `${view.leader.workerId} (term ${view.leader.term})`
            }; last completed checkpoint ${view.completedCheckpoint ?? 'none'}${
              view.pendingCheckpoint !== undefined
                ? `; checkpoint ${view.pendingCheckpoint} pending`
                : ''
            }`,
          );
          out.table(
            ['worker', 'state', 'epoch', 'host', 'pid', 'beats', 'joined'],
            view.members.map((m) => ({
              worker: `${m.workerId}${m.leader ? ' (leader)' : ''}`,
              state: stateText(m),
              epoch: m.epoch,
              host: m.host,
              pid: m.pid,
              beats: m.beat,
              joined: new Date(m.joinedAt).toISOString(),
            })),
          );
        });
      },
    );
}
