import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { refuseKeyedJob } from '../../cluster/cluster-worker.js';
import type { JobOptionsInput } from '../../runtime/job-options.js';
import type { JobResult } from '../../runtime/job-events.js';
import { StreamEnvironment } from '../../runtime/stream-environment.js';
import { intOption } from '../args.js';
import {
  DEFAULT_CLUSTER_SCOPE,
  checkClusterController,
  runAsWorker,
  spawnWorkers,
} from '../cluster-run.js';
import { contextOf } from '../context.js';
import { reportJob } from '../job-reporter.js';
import {
  checkJobFile,
  defaultJobName,
  isTypeScriptJob,
  loadJobModule,
  type JobContext,
} from '../job-module.js';
import { startOptions, stopJob, type StartMode } from '../lifecycle-adapter.js';
import { announceObservation, checkObserveOptions, observeJob } from '../observe-adapter.js';
import { canImportTypeScript, rerunUnderTsx } from '../ts-loader.js';
import { usageError } from '../usage-error.js';

/** `tributary run <job.ts|job.js> [-- args...]` (see job-module.ts for the module contract). */

export const DEFAULT_CHECKPOINT_ROOT = '.tributary-checkpoints';
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5_000;

interface RunOptions {
  readonly name?: string;
  readonly resume?: boolean;
  readonly fromScratch?: boolean;
  readonly allowDuplicates?: boolean;
  readonly checkpointDir?: string;
  readonly checkpointInterval?: number;
  readonly statusPort?: number;
  readonly metricsPort?: number;
  readonly logLevel?: string;
  readonly workers?: number;
  readonly join?: string;
  readonly workerId?: string;
  readonly clusterScope?: string;
}

/** The job options the CLI runs with: the module's, with connection and checkpoints filled in. */
export function effectiveJobOptions(
  moduleOptions: JobOptionsInput,
  pravega: NonNullable<JobOptionsInput['pravega']>,
  pravegaFromCli: boolean,
  /** undefined: none (a worker of a scaled-out job keeps its keyed state in Pravega) */
  checkpointDir: string | undefined,
  checkpointIntervalMs: number | undefined,
): JobOptionsInput {
  const { dir: _dir, ...checkpoint } = moduleOptions.checkpoint ?? {};
  return {
    ...moduleOptions,
    pravega:
      pravegaFromCli || moduleOptions.pravega === undefined ? pravega : moduleOptions.pravega,
    checkpoint: {
      ...checkpoint,
      ...(checkpointDir !== undefined ? { dir: checkpointDir } : {}),
      intervalMs:
        checkpointIntervalMs ??
        moduleOptions.checkpoint?.intervalMs ??
        DEFAULT_CHECKPOINT_INTERVAL_MS,
    },
  };
}

export function startMode(opts: { resume?: boolean; fromScratch?: boolean }): StartMode {
  if (opts.resume && opts.fromScratch) {
    throw usageError('--resume and --from-scratch exclude each other');
  }
  return opts.fromScratch ? 'scratch' : 'resume';
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'run a job module until it finishes or Ctrl-C stops it; resumes from its last checkpoint by default',
    )
    .argument('<job>', 'a .ts or .js module whose default export builds the pipeline')
    .argument('[args...]', 'arguments for the job (after --), as ctx.args')
    .option('--name <name>', "job name (default: the module's `name` export, else the file name)")
    .option('--resume', 'resume from the newest checkpoint in the checkpoint directory (default)')
    .option(
      '--from-scratch',
      'start over: sources at their configured start (refused over checkpoints unless --allow-duplicates)',
    )
    .option(
      '--allow-duplicates',
      'accept output written again: --from-scratch over existing checkpoints',
    )
    .option(
      '--checkpoint-dir <dir>',
      `checkpoint directory (default: the module's, else ./${DEFAULT_CHECKPOINT_ROOT}/<name>; with --join, none: a keyed job's state goes to its state stream in Pravega)`,
    )
    .option(
      '--checkpoint-interval <ms>',
      `periodic checkpoints (default: the module's, else ${DEFAULT_CHECKPOINT_INTERVAL_MS})`,
      intOption('--checkpoint-interval', 1),
    )
    .option(
      '--status-port <port>',
      'serve the status page on this port',
      intOption('--status-port', 0, 65_535),
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on this port',
      intOption('--metrics-port', 0, 65_535),
    )
    .option('--log-level <level>', 'log level (trace, debug, info, warn, error)')
    .option(
      '--workers <n>',
      'run the job in n worker processes on this machine, sharing its reader groups (needs a Pravega server)',
      intOption('--workers', 1, 256),
    )
    .option(
      '--join <job>',
      'run this process as one more worker of the running job <job> (on any machine that reaches the controller)',
    )
    .option('--worker-id <id>', "this worker's id with --join (default: host-pid-random)")
    .option(
      '--cluster-scope <scope>',
      `scope of the workers' coordination table (default: ${DEFAULT_CLUSTER_SCOPE}, created if missing)`,
    )
    .action(async (job: string, args: string[], opts: RunOptions, command: Command) => {
      const { out, controller } = contextOf(command);
      const mode = startMode(opts);
      const observe = {
        ...(opts.statusPort !== undefined ? { statusPort: opts.statusPort } : {}),
        ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
        ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
      };
      checkObserveOptions(observe);
      const path = await checkJobFile(job);
      if (isTypeScriptJob(path) && !canImportTypeScript()) {
        process.exitCode = await rerunUnderTsx(dirname(path), `running ${job}`);
        return;
      }
      const module = await loadJobModule(path);
      const name = opts.join ?? opts.name ?? module.name ?? defaultJobName(path);
      const choice = controller();
      const several = opts.workers !== undefined && opts.workers > 1;
      if (several) {
        if (opts.join !== undefined) throw usageError('--workers and --join exclude each other');
        checkClusterController(choice.config);
      }
      const base = { name, pravega: choice.config, args };
      const moduleOptions = module.options(base);
      const checkpointDir = resolve(
        opts.checkpointDir ?? moduleOptions.checkpoint?.dir ?? join(DEFAULT_CHECKPOINT_ROOT, name),
      );
      // a worker (--join) keeps a keyed job's state in the job's state stream in Pravega unless
      // a checkpoint directory is given (docs/scale-out.md §8)
      const explicitDir = opts.checkpointDir ?? moduleOptions.checkpoint?.dir;
      const env = StreamEnvironment.create(
        effectiveJobOptions(
          moduleOptions,
          choice.config,
          choice.from !== 'default',
          opts.join !== undefined && explicitDir === undefined ? undefined : checkpointDir,
          opts.checkpointInterval,
        ),
      );
      const ctx: JobContext = { ...base, checkpointDir };
      await module.build(env, ctx);
      if (several) {
        // a keyed job runs on one worker for now: refused here, before any worker starts
        refuseKeyedJob(env, name, 'several');
        process.exitCode = await spawnWorkers(opts.workers, name, out);
        return;
      }
      if (opts.join !== undefined) {
        process.exitCode = await runAsWorker({
          env,
          name,
          pravega: choice.config,
          scope: opts.clusterScope,
          workerId: opts.workerId,
          checkpointIntervalMs:
            opts.checkpointInterval ??
            moduleOptions.checkpoint?.intervalMs ??
            DEFAULT_CHECKPOINT_INTERVAL_MS,
          out,
          observe,
        });
        return;
      }
      const plan = await startOptions(mode, checkpointDir, opts.allowDuplicates === true);
      const start = {
        type: 'start',
        job: name,
        controller: choice.config.controllerUri,
        checkpointDir,
        resumeFrom: plan.resumeFrom,
        mode,
      };
      if (out.json) out.jsonLine(start);
      else
        out.line(
          `running job ${name} on ${choice.config.controllerUri}, ${
            plan.resumeFrom !== undefined
              ? `resuming from checkpoint ${plan.resumeFrom}`
              : mode === 'scratch'
                ? 'from scratch'
                : 'from the start (no checkpoint yet)'
          }; checkpoints in ${checkpointDir}; Ctrl-C stops`,
        );
      const handle = env.execute(name, plan.execute);
      const reporter = reportJob(handle, out);
      const observation = await observeJob(handle, observe);
      announceObservation(observation, out);

      let stopping = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          process.stderr.write(`${signal} again: exiting without waiting for the job\n`);
          process.exit(130);
        }
        stopping = true;
        if (out.json) out.jsonLine({ type: 'stopping', signal });
        else out.line(`${signal}: stopping job ${name} (again to exit at once) ...`);
        stopJob(handle).catch(() => undefined);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let result: JobResult;
      try {
        result = await handle.result;
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        reporter.unsubscribe();
        await observation.close();
      }
      const last = result.lastCheckpointId;
      out.result(
        {
          type: 'result',
          job: name,
          status: result.status,
          restarts: result.restarts,
          lastCheckpointId: last,
          checkpointDir,
          metrics: result.metrics,
        },
        () =>
          out.line(
            `job ${name} ${result.status} after ${result.restarts} restart(s); ${
              last === undefined
                ? 'no checkpoint completed'
                : `last checkpoint ${last} in ${checkpointDir}${result.status !== 'finished' ? ' (tributary run resumes from it)' : ''}`
            }`,
          ),
      );
    });
}
