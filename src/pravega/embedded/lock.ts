import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TributaryError } from '../../errors.js';

export const LOCK_FILE = 'LOCK';

interface LockContent {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** True when a process with this id exists on this host. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the directory's lock file (created with O_EXCL). A lock left by a process that no longer
 * runs on this host is taken over; any other holder gives STORE_LOCKED naming it.
 * @returns a function that releases the lock
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const mine: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(mine));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TributaryError('STORE_IO', `cannot create lock file ${path}: ${String(err)}`, {
          cause: err,
        });
      }
    }
    let holder: LockContent | undefined;
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockContent>;
      if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
        holder = { pid: parsed.pid, host: parsed.host, since: String(parsed.since) };
      }
    } catch {
      // a lock file being written right now, or garbage: decided below
    }
    if (holder === undefined) {
      // either the holder is between create and write, or it died right there: give it a moment
      await new Promise((r) => setTimeout(r, 50));
      if (attempt < 4) continue;
      throw new TributaryError(
        'STORE_LOCKED',
        `${dir} is locked by an unreadable lock file ${path}; remove it if no process uses the store`,
        { details: { path } },
      );
    }
    if (holder.host === mine.host && !processAlive(holder.pid)) {
      // the holder died without releasing: take over
      await unlink(path).catch(() => undefined);
      continue;
    }
    throw new TributaryError(
      'STORE_LOCKED',
      `${dir} is in use by process ${holder.pid} on host ${holder.host} (since ${holder.since})`,
      { details: { pid: holder.pid, host: holder.host, path } },
    );
  }
  throw new TributaryError('STORE_LOCKED', `could not take the lock ${path}`, {
    details: { path },
  });
}
