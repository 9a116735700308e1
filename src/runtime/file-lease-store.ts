import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LeaseJobLockProvider,
  type JobLockProvider,
  type LeaseRecord,
  type LeaseStore,
} from './job-lock.js';

const LOCK_FILE = 'job.lock';

interface LockFile {
  readonly token: string;
  readonly record: LeaseRecord;
}

/**
 * The job lease as a file in the checkpoint directory (`job.lock`), for jobs that have no Pravega
 * connection: guards copies that share the directory. The version is a random token rewritten
 * with every change; create is exclusive (`wx`), replace and remove compare the token first.
 */
class FileLeaseStore implements LeaseStore {
  readonly where: string;
  private readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, LOCK_FILE);
    this.where = this.path;
  }

  async read(): Promise<{ record: LeaseRecord | undefined; version: unknown } | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as LockFile;
      return { record: parsed.record, version: parsed.token };
    } catch {
      // torn by a crash mid-write: nobody holds it
      return { record: undefined, version: `unreadable:${text.length}` };
    }
  }

  async create(record: LeaseRecord): Promise<unknown> {
    await mkdir(this.dir, { recursive: true });
    const token = randomBytes(8).toString('hex');
    let handle;
    try {
      handle = await open(this.path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw err;
    }
    try {
      await handle.writeFile(JSON.stringify({ token, record } satisfies LockFile));
    } finally {
      await handle.close();
    }
    return token;
  }

  async replace(record: LeaseRecord, version: unknown): Promise<unknown> {
    const current = await this.read();
    if (current === undefined || current.version !== version) return undefined;
    const token = randomBytes(8).toString('hex');
    const temp = `${this.path}.${token}`;
    await writeFile(temp, JSON.stringify({ token, record } satisfies LockFile));
    await rename(temp, this.path);
    return token;
  }

  async remove(version: unknown): Promise<void> {
    const current = await this.read();
    if (current === undefined || current.version !== version) return;
    await unlink(this.path).catch(() => undefined);
  }

  async close(): Promise<void> {}
}

/** The job lease in `<dir>/job.lock`. */
export function fileJobLock(dir: string): JobLockProvider {
  return new LeaseJobLockProvider(async () => new FileLeaseStore(dir), join(dir, LOCK_FILE));
}
