import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { syncDirectory } from '../../durable-fs.js';
import { join } from 'node:path';
import { TributaryError } from '../../errors.js';
import { TwoPhaseCommitSink } from '../../twophase/two-phase-commit-sink.js';
import type { SinkWriterContext } from '../sink.js';
import type { FileSinkSettings } from './file-sink.js';

/** A file transaction, as kept in checkpoint state (names relative to the sink directory). */
export interface FileTransaction {
  readonly [key: string]: string | number | null;
  readonly inProgress: string;
  readonly final: string;
  /** Set by pre-commit; null while open. */
  readonly records: number | null;
}

interface OpenFile {
  readonly handle: FileHandle;
  chunks: string[];
  buffered: number;
  records: number;
}

export class FileSinkWriter<T> extends TwoPhaseCommitSink<T, FileTransaction> {
  private readonly open = new Map<string, OpenFile>();
  private sequence = 0;
  private readonly tag: string;

  constructor(
    ctx: SinkWriterContext,
    private readonly dir: string,
    private readonly encode: (record: T) => string,
    private readonly settings: FileSinkSettings,
  ) {
    super(
      ctx,
      settings.transactionTimeoutMs === undefined
        ? {}
        : { transactionTimeoutMs: settings.transactionTimeoutMs },
    );
    this.tag = `${settings.prefix}-${ctx.subtask}-${ctx.runId.slice(0, 8)}-${ctx.attempt}`;
  }

  override async initialize(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await super.initialize();
  }

  protected async beginTransaction(): Promise<FileTransaction> {
    const seq = this.sequence++;
    const txn: FileTransaction = {
      inProgress: `.${this.tag}-${seq}.inprogress`,
      final: `${this.tag}-${seq}${this.settings.suffix}`,
      records: null,
    };
    const handle = await open(join(this.dir, txn.inProgress), 'wx');
    this.open.set(txn.inProgress, { handle, chunks: [], buffered: 0, records: 0 });
    return txn;
  }

  protected write(txn: FileTransaction, records: readonly T[]): void | Promise<void> {
    const file = this.file(txn);
    let text = '';
    for (const record of records) text += this.encode(record) + '\n';
    file.chunks.push(text);
    file.buffered += text.length;
    file.records += records.length;
    if (file.buffered >= this.settings.writeBufferBytes) return this.flush(file);
  }

  protected async preCommit(txn: FileTransaction): Promise<FileTransaction> {
    const file = this.file(txn);
    await this.flush(file);
    await file.handle.sync();
    await file.handle.close();
    this.open.delete(txn.inProgress);
    return { ...txn, records: file.records };
  }

  /** Idempotent: an already renamed file is success; a missing one is data loss. */
  protected async commit(txn: FileTransaction): Promise<void> {
    const from = join(this.dir, txn.inProgress);
    if (txn.records === 0) {
      await unlink(from).catch(ignoreMissing);
      return;
    }
    try {
      await rename(from, join(this.dir, txn.final));
    } catch (err) {
      if (!isMissing(err)) throw err;
      if (await exists(join(this.dir, txn.final))) return;
      throw new TributaryError(
        'DATA_LOSS',
        `file sink: transaction ${txn.final} is neither in progress (${txn.inProgress}) nor committed; its ${String(txn.records)} record(s) are lost`,
        { details: { dir: this.dir, file: txn.final } },
      );
    }
    await syncDirectory(this.dir);
  }

  protected async abort(txn: FileTransaction): Promise<void> {
    const file = this.open.get(txn.inProgress);
    this.open.delete(txn.inProgress);
    await file?.handle.close().catch(() => {});
    await unlink(join(this.dir, txn.inProgress)).catch(ignoreMissing);
  }

  /** In-progress files of this subtask from other runs are orphans (their txns were never recorded). */
  protected override async finishRecovery(): Promise<void> {
    const mine = `.${this.settings.prefix}-${this.ctx.subtask}-`;
    for (const name of await readdir(this.dir)) {
      if (
        name.startsWith(mine) &&
        name.endsWith('.inprogress') &&
        !name.startsWith(`.${this.tag}-`)
      ) {
        await unlink(join(this.dir, name)).catch(ignoreMissing);
      }
    }
  }

  private file(txn: FileTransaction): OpenFile {
    const file = this.open.get(txn.inProgress);
    if (file === undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `file sink: transaction ${txn.inProgress} is not open`,
      );
    }
    return file;
  }

  private async flush(file: OpenFile): Promise<void> {
    if (file.chunks.length === 0) return;
    const data = file.chunks.join('');
    file.chunks = [];
    file.buffered = 0;
    await file.handle.write(data);
  }
}

function isMissing(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ENOENT';
}

function ignoreMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}
