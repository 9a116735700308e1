import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TributaryError, errorMessage } from '../../errors.js';
import type { CheckpointData } from '../../checkpoint/checkpoint-data.js';
import { readCheckpointFile, resolveRestorePoint } from '../../checkpoint/checkpoint-storage.js';
import { checkpointFileName } from '../../checkpoint/checkpoint-storage.js';
import { intOption } from '../args.js';
import { contextOf } from '../context.js';
import { formatBytes } from '../output.js';
import { usageError } from '../usage-error.js';

/**
 * `tributary checkpoints list <dir>` and `checkpoints show <dir|file> [--id n]`: the durable
 * checkpoints of a job (its `checkpoint.dir`), each verified (length and SHA-256) as a restore
 * would; a corrupt one is listed as such, never hidden.
 */

const FILE = /^chk-(\d{12})\.ckpt$/;

export interface CheckpointSummary {
  readonly checkpointId: number;
  readonly jobName: string;
  readonly triggeredAt: string;
  readonly completedAt: string;
  readonly durationMs: number;
  readonly bytes: number;
  readonly operators: number;
  readonly path: string;
}

async function ensureDirectory(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    throw usageError(`<dir>: ${dir} does not exist (${errorMessage(err)})`);
  }
  if (!info.isDirectory()) {
    throw usageError(`<dir>: ${dir} is not a directory`);
  }
}

function summary(data: CheckpointData, path: string, bytes: number): CheckpointSummary {
  return {
    checkpointId: data.checkpointId,
    jobName: data.jobName,
    triggeredAt: new Date(data.triggeredAt).toISOString(),
    completedAt: new Date(data.completedAt).toISOString(),
    durationMs: data.completedAt - data.triggeredAt,
    bytes,
    operators: Object.keys(data.operators).length,
    path,
  };
}

export function registerCheckpoints(program: Command): void {
  const checkpoints = program
    .command('checkpoints')
    .description("inspect a job's durable checkpoints (its checkpoint directory)");

  checkpoints
    .command('list')
    .description('every checkpoint in a directory, oldest first, verified')
    .argument('<dir>', 'checkpoint directory')
    .action(async (dir: string, _opts: unknown, command: Command) => {
      const { out } = contextOf(command);
      await ensureDirectory(dir);
      const names = (await readdir(dir)).filter((n) => FILE.test(n)).sort();
      const rows: (CheckpointSummary & { state: string })[] = [];
      for (const name of names) {
        const path = join(dir, name);
        const bytes = (await stat(path)).size;
        try {
          rows.push({ ...summary(await readCheckpointFile(path), path, bytes), state: 'intact' });
        } catch (err) {
          if (!TributaryError.is(err, 'STATE_CORRUPT')) throw err;
          const id = Number(FILE.exec(name)?.[1]);
          rows.push({
            checkpointId: id,
            jobName: '?',
            triggeredAt: '',
            completedAt: '',
            durationMs: 0,
            bytes,
            operators: 0,
            path,
            state: `corrupt: ${errorMessage(err).replace(/^checkpoint \S+ is corrupt: /, '')}`,
          });
        }
      }
      if (out.json) {
        out.table([], rows);
        return;
      }
      if (rows.length === 0) {
        out.line(`no checkpoints in ${dir}`);
        return;
      }
      out.table(
        ['id', 'job', 'completed', 'duration', 'size', 'state'],
        rows.map((r) => ({
          id: r.checkpointId,
          job: r.jobName,
          completed: r.completedAt,
          duration: r.state === 'intact' ? `${r.durationMs} ms` : '',
          size: formatBytes(r.bytes),
          state: r.state,
        })),
      );
    });

  checkpoints
    .command('show')
    .description('one checkpoint: the newest intact one of a directory, --id n, or a file')
    .argument('<path>', 'checkpoint directory or file')
    .option('--id <n>', 'this checkpoint of the directory', intOption('--id', 1))
    .action(async (path: string, opts: { id?: number }, command: Command) => {
      const { out } = contextOf(command);
      let file = path;
      let data: CheckpointData;
      if (opts.id !== undefined) {
        await ensureDirectory(path);
        file = join(path, checkpointFileName(opts.id));
        try {
          await stat(file);
        } catch (err) {
          throw new TributaryError('CONFIG_INVALID', `no checkpoint ${opts.id} in ${path}`, {
            cause: err,
          });
        }
        data = await readCheckpointFile(file);
      } else {
        const info = await stat(path).catch((err: unknown) => {
          throw usageError(`<path>: ${path} does not exist (${errorMessage(err)})`);
        });
        data = (await resolveRestorePoint(path)).data;
        if (info.isDirectory()) file = join(path, checkpointFileName(data.checkpointId));
      }
      const bytes = (await stat(file)).size;
      const operators = Object.entries(data.operators).map(([uid, op]) => ({
        uid,
        parallelism: op.parallelism,
        items: op.subtasks.reduce((n, s) => n + s.items.length, 0),
        keyGroups: op.subtasks.reduce((n, s) => n + s.keyGroups.length, 0),
        bytes: JSON.stringify(op).length,
      }));
      const enumerators = Object.entries(data.enumerators).map(([uid, state]) => ({
        uid,
        bytes: JSON.stringify(state).length,
      }));
      const head = summary(data, file, bytes);
      out.result({ ...head, operators, enumerators }, () => {
        out.line(`checkpoint ${head.checkpointId} of job ${head.jobName}`);
        out.line(`file       ${file} (${formatBytes(bytes)})`);
        out.line(`triggered  ${head.triggeredAt}`);
        out.line(`completed  ${head.completedAt} (${head.durationMs} ms)`);
        out.line('');
        out.table(
          ['operator', 'parallelism', 'items', 'key groups', 'state'],
          operators.map((o) => ({
            operator: o.uid,
            parallelism: o.parallelism,
            items: o.items,
            'key groups': o.keyGroups,
            state: formatBytes(o.bytes),
          })),
        );
        if (enumerators.length > 0) {
          out.line('');
          out.table(
            ['source enumerator', 'state'],
            enumerators.map((e) => ({ 'source enumerator': e.uid, state: formatBytes(e.bytes) })),
          );
        }
      });
    });
}
