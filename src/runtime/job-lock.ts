import { hostname } from 'node:os';
import { TributaryError, errorMessage } from '../errors.js';

/**
 * One running copy per job: before its first task starts, a job takes a lease on its name; a
 * second copy finds the lease held and is refused with the holder's host, pid and start time. The
 * holder renews the lease every third of its length, so a copy that died leaves it behind for at
 * most one lease (on its own host, a dead pid frees it at once). Where the lease lives is up to
 * the job's connectors: a Pravega table segment (shared by every machine using the server), or a
 * file in the checkpoint directory for jobs without one.
 */

/** Who holds a job's lease. */
export interface JobLockOwner {
  readonly host: string;
  readonly pid: number;
  /** when the holder took the lease, ms since epoch */
  readonly since: number;
  /** unique per execution */
  readonly runId: string;
}

/** The record a lease store keeps under a job's name. */
export interface LeaseRecord extends JobLockOwner {
  /** the holder's wall clock at its last renewal */
  readonly renewedAt: number;
  readonly leaseMs: number;
}

/**
 * A versioned record per job name, updated conditionally: the only primitive the lease needs.
 * `create` and `replace` return the new version, or undefined when the condition failed (the key
 * exists / the version moved).
 */
export interface LeaseStore {
  /** where the records live, for messages */
  readonly where: string;
  read(): Promise<{ record: LeaseRecord | undefined; version: unknown } | undefined>;
  create(record: LeaseRecord): Promise<unknown>;
  replace(record: LeaseRecord, version: unknown): Promise<unknown>;
  remove(version: unknown): Promise<void>;
  close(): Promise<void>;
}

/** A lease held by this process. */
export interface HeldJobLock {
  readonly where: string;
  release(): Promise<void>;
}

/** Something that can hold a job's lease (a connector offers one; see JobExecution). */
export interface JobLockProvider {
  readonly where: string;
  /**
   * Takes the lease or throws JOB_ALREADY_RUNNING naming the holder. `onLost` is called (once) if
   * the lease is lost while held (taken over, or not renewed in time): the job must fail.
   */
  acquire(
    jobName: string,
    owner: JobLockOwner,
    leaseMs: number,
    onLost: (error: TributaryError) => void,
  ): Promise<HeldJobLock>;
}

export function currentOwner(runId: string): JobLockOwner {
  return { host: hostname(), pid: process.pid, since: Date.now(), runId };
}

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeOwner(record: JobLockOwner): string {
  return `host ${record.host}, pid ${record.pid}, since ${new Date(record.since).toISOString()}`;
}

/** Why `record` no longer holds the lease, or undefined while it does. */
function staleness(record: LeaseRecord, now: number): string | undefined {
  if (record.host === hostname() && !processAlive(record.pid)) {
    return `its process (pid ${record.pid}) on this host is gone`;
  }
  if (now - record.renewedAt > record.leaseMs) {
    return `its lease expired ${now - record.renewedAt - record.leaseMs} ms ago`;
  }
  return undefined;
}

/** A job lease over a {@link LeaseStore}, renewed in the background while held. */
export class LeaseJobLockProvider implements JobLockProvider {
  constructor(
    private readonly open: (jobName: string) => Promise<LeaseStore>,
    readonly where: string,
  ) {}

  async acquire(
    jobName: string,
    owner: JobLockOwner,
    leaseMs: number,
    onLost: (error: TributaryError) => void,
  ): Promise<HeldJobLock> {
    const store = await this.open(jobName);
    try {
      const version = await this.take(store, jobName, owner, leaseMs);
      return new RenewedLease(store, jobName, owner, leaseMs, version, onLost);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  private async take(
    store: LeaseStore,
    jobName: string,
    owner: JobLockOwner,
    leaseMs: number,
  ): Promise<unknown> {
    const mine = (): LeaseRecord => ({ ...owner, renewedAt: Date.now(), leaseMs });
    // a few rounds: each lost race means another copy wrote in between, and is read again
    for (let round = 0; round < 5; round++) {
      const current = await store.read();
      if (current === undefined) {
        const version = await store.create(mine());
        if (version !== undefined) return version;
        continue;
      }
      const held = current.record;
      if (held !== undefined && held.runId !== owner.runId) {
        const stale = staleness(held, Date.now());
        if (stale === undefined) {
          throw new TributaryError(
            'JOB_ALREADY_RUNNING',
            `job "${jobName}" is already running (${describeOwner(held)}; lease in ${store.where}, renewed ${Date.now() - held.renewedAt} ms ago): a second copy would duplicate or corrupt its output. Stop the running copy first; a copy that died frees the lease within ${held.leaseMs} ms`,
            { details: { jobName, holder: { ...held }, where: store.where } },
          );
        }
      }
      const version = await store.replace(mine(), current.version);
      if (version !== undefined) return version;
    }
    throw new TributaryError(
      'JOB_ALREADY_RUNNING',
      `job "${jobName}": another copy keeps taking the lease in ${store.where}; is it being started twice at once?`,
      { details: { jobName, where: store.where } },
    );
  }
}

class RenewedLease implements HeldJobLock {
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = Date.now();
  private released = false;
  private renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LeaseStore,
    private readonly jobName: string,
    private readonly owner: JobLockOwner,
    private readonly leaseMs: number,
    private version: unknown,
    private readonly onLost: (error: TributaryError) => void,
  ) {
    this.schedule();
  }

  get where(): string {
    return this.store.where;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.renewing;
    try {
      await this.store.remove(this.version);
    } finally {
      await this.store.close();
    }
  }

  private schedule(): void {
    this.timer = setTimeout(
      () => {
        this.renewing = this.renew();
      },
      Math.max(10, Math.floor(this.leaseMs / 3)),
    );
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    let version: unknown;
    try {
      version = await this.store.replace(
        { ...this.owner, renewedAt: Date.now(), leaseMs: this.leaseMs },
        this.version,
      );
    } catch (err) {
      // unreachable store: keep trying while the lease lasts
      if (Date.now() - this.lastRenewed > this.leaseMs) {
        this.lose(
          `could not renew its lease in ${this.store.where} for ${Date.now() - this.lastRenewed} ms (${errorMessage(err)}); another copy may have started`,
        );
        return;
      }
      if (!this.released) this.schedule();
      return;
    }
    if (version === undefined) {
      const current = await this.store.read().catch(() => undefined);
      const by = current?.record;
      this.lose(
        `its lease in ${this.store.where} was taken over${by === undefined ? '' : ` by ${describeOwner(by)}`}`,
      );
      return;
    }
    this.version = version;
    this.lastRenewed = Date.now();
    if (!this.released) this.schedule();
  }

  private lose(why: string): void {
    if (this.released) return;
    this.onLost(
      new TributaryError(
        'JOB_ALREADY_RUNNING',
        `job "${this.jobName}" lost its lease: ${why}. It stops so that two copies never run at once`,
        { details: { jobName: this.jobName, where: this.store.where } },
      ),
    );
  }
}
