import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { JobResult } from '../../runtime/job-events.js';
import type { JobHandle } from '../../runtime/job-handle.js';
import { TableEnvironment } from '../../table/index.js';
import { intOption } from '../args.js';
import { contextOf } from '../context.js';
import { reportJob } from '../job-reporter.js';
import { stopJob } from '../lifecycle-adapter.js';
import { usageError } from '../usage-error.js';
import { DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_CHECKPOINT_ROOT, startMode } from './run.js';

/**
 * `tributary sql -f job.sql` / `-e 'statements'`: runs Flink SQL statements in order. DDL, SHOW
 * and EXPLAIN print their result; every INSERT INTO (or statement set) starts a job, and the
 * command waits for all of them. Ctrl-C stops every job with a final checkpoint, as `run` does.
 * The global `--controller` (else $TRIBUTARY_CONTROLLER, else the embedded store) becomes the
 * jobs' Pravega connection settings; tables still name their own `controller-uri` in WITH, as in
 * Flink (which has no session-wide default).
 */

interface SqlOptions {
  readonly file?: string;
  readonly execute?: string;
  readonly resume?: boolean;
  readonly fromScratch?: boolean;
  readonly allowDuplicates?: boolean;
  readonly checkpointDir?: string;
  readonly checkpointInterval?: number;
  readonly parallelism?: number;
}

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description(
      'run Flink SQL statements (CREATE TABLE, INSERT INTO ... SELECT, EXPLAIN, SHOW ...); INSERT jobs run until they finish or Ctrl-C stops them',
    )
    .option('-f, --file <file.sql>', 'a file of ;-separated statements')
    .option('-e, --execute <statements>', 'statements given inline')
    .option('--resume', 'resume each INSERT job from its newest checkpoint (default)')
    .option(
      '--from-scratch',
      'start every INSERT job over (refused over checkpoints unless --allow-duplicates)',
    )
    .option(
      '--allow-duplicates',
      'accept output written again: --from-scratch over existing checkpoints',
    )
    .option(
      '--checkpoint-dir <dir>',
      `checkpoint root; each INSERT job uses <dir>/<job name> (default: ./${DEFAULT_CHECKPOINT_ROOT}/sql)`,
    )
    .option(
      '--checkpoint-interval <ms>',
      `periodic checkpoints (default ${DEFAULT_CHECKPOINT_INTERVAL_MS})`,
      intOption('--checkpoint-interval', 1),
    )
    .option('--parallelism <n>', 'default parallelism of the jobs', intOption('--parallelism', 1))
    .action(async (opts: SqlOptions, command: Command) => {
      const { out, controller } = contextOf(command);
      if ((opts.file === undefined) === (opts.execute === undefined)) {
        throw usageError('give exactly one of -f <file.sql> and -e <statements>');
      }
      const mode = startMode(opts);
      const text = opts.file !== undefined ? await readSqlFile(opts.file) : opts.execute!;
      const checkpointDir = resolve(opts.checkpointDir ?? join(DEFAULT_CHECKPOINT_ROOT, 'sql'));
      const choice = controller();
      const tableEnv = TableEnvironment.create({
        job: {
          pravega: choice.config,
          ...(opts.parallelism !== undefined ? { parallelism: opts.parallelism } : {}),
          checkpoint: {
            dir: checkpointDir,
            intervalMs: opts.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
          },
        },
        execute: {
          stopOnSignals: false,
          startFrom: mode === 'scratch' ? 'scratch' : 'latest',
          ...(opts.allowDuplicates === true ? { allowDuplicates: true } : {}),
        },
      });
      const jobs: { name: string; handle: JobHandle }[] = [];
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) {
          process.stderr.write(`${signal} again: exiting without waiting for the jobs\n`);
          process.exit(130);
        }
        stopping = true;
        if (out.json) out.jsonLine({ type: 'stopping', signal });
        else out.line(`${signal}: stopping ${jobs.length} job(s) (again to exit at once) ...`);
        for (const j of jobs) stopJob(j.handle).catch(() => undefined);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const reporters: { unsubscribe(): void }[] = [];
      try {
        const results = await tableEnv.executeStatements(text);
        for (const r of results) {
          if (r.kind === 'rows')
            out.result({ type: 'rows', statement: r.statement, rows: r.rows }, () =>
              r.rows!.forEach((row) => out.line(row)),
            );
          else if (r.kind === 'explain')
            out.result({ type: 'explain', plan: r.text }, () => out.line(r.text!));
          else if (r.kind === 'job') {
            const name = r.jobName!;
            jobs.push({ name, handle: r.job! });
            reporters.push(reportJob(r.job!, out));
            if (out.json) out.jsonLine({ type: 'start', job: name, checkpointDir, mode });
            else out.line(`started job ${name}; checkpoints under ${checkpointDir}; Ctrl-C stops`);
          } else if (out.json) out.jsonLine({ type: 'ok', statement: r.statement });
        }
        const outcomes: JobResult[] = await Promise.all(jobs.map((j) => j.handle.result));
        outcomes.forEach((result, i) => {
          const name = jobs[i]!.name;
          out.result(
            {
              type: 'result',
              job: name,
              status: result.status,
              restarts: result.restarts,
              lastCheckpointId: result.lastCheckpointId,
            },
            () =>
              out.line(
                `job ${name} ${result.status} after ${result.restarts} restart(s); last checkpoint ${result.lastCheckpointId ?? 'none'}`,
              ),
          );
        });
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        reporters.forEach((r) => r.unsubscribe());
        await tableEnv.close();
      }
    });
}

async function readSqlFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}
