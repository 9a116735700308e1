import { TributaryError } from '../errors.js';
import { validateName } from '../pravega/protocol/index.js';
import { TABLE_KEY_MUST_NOT_EXIST, type SegmentStore } from '../pravega/segment/segment-store.js';
import { withDeadline } from './deadline.js';

/**
 * The one primitive the coordination core stands on: a small table of JSON records, each key with
 * a version, where a write of several keys is atomic and each key's write may be conditional on
 * its version. A Pravega table segment gives exactly that, on the real server and the embedded
 * store alike (see {@link SegmentCoordinationTable}).
 */
export interface CoordinationTable {
  /** where the records live, for messages */
  readonly where: string;
  /** One result per key, in order; undefined for an absent key. */
  get(keys: readonly string[]): Promise<(VersionedRecord | undefined)[]>;
  /**
   * Writes every entry or none. `expected` is the version the key must have now, `'absent'` for
   * a key that must not exist, or `'any'`. @returns the new versions in order, or undefined when
   * some condition failed (someone else wrote first: re-read and decide again).
   */
  put(entries: readonly TableWrite[]): Promise<bigint[] | undefined>;
  /** Removes every key or none, with the same conditions. @returns false on a failed condition. */
  remove(keys: readonly { key: string; expected: bigint | 'any' }[]): Promise<boolean>;
  /** Every record whose key starts with `prefix` (the whole table is read, page by page). */
  list(prefix: string): Promise<VersionedRecord[]>;
  /** Deletes the table for good (the job ended). */
  destroy(): Promise<void>;
}

export interface VersionedRecord {
  readonly key: string;
  readonly value: unknown;
  readonly version: bigint;
}

export interface TableWrite {
  readonly key: string;
  readonly value: unknown;
  readonly expected: bigint | 'absent' | 'any';
}

/** The table segment that coordinates the workers of one job: `<scope>/_tributary-cluster-<job>`. */
export function clusterTableSegment(scope: string, jobName: string): string {
  validateName('scope', scope);
  validateName('stream', jobName);
  if (jobName.length > 200) {
    throw new TributaryError(
      'INVALID_NAME',
      `job name ${JSON.stringify(jobName)} is too long for a cluster job: use at most 200 characters`,
    );
  }
  return `${scope}/_tributary-cluster-${jobName}/0.#epoch.0`;
}

const PAGE = 1000;

function isConflict(err: unknown): boolean {
  return (
    TributaryError.is(err, 'TABLE_KEY_BAD_VERSION') || TributaryError.is(err, 'TABLE_KEY_NOT_FOUND')
  );
}

function toVersion(expected: bigint | 'absent' | 'any'): bigint | undefined {
  if (expected === 'any') return undefined;
  if (expected === 'absent') return TABLE_KEY_MUST_NOT_EXIST;
  return expected;
}

/** A {@link CoordinationTable} in one Pravega table segment; every call has a deadline. */
export class SegmentCoordinationTable implements CoordinationTable {
  private created: Promise<boolean> | undefined;

  constructor(
    private readonly store: SegmentStore,
    private readonly segment: string,
    private readonly operationTimeoutMs = 30_000,
    /** false: only read a table that exists (a call on a missing one fails), never create it */
    private readonly createIfMissing = true,
  ) {}

  static forJob(
    store: SegmentStore,
    scope: string,
    jobName: string,
    operationTimeoutMs?: number,
  ): SegmentCoordinationTable {
    return new SegmentCoordinationTable(
      store,
      clusterTableSegment(scope, jobName),
      operationTimeoutMs,
    );
  }

  /** The job's table as it is, for reading: never created by this object. */
  static existing(
    store: SegmentStore,
    scope: string,
    jobName: string,
    operationTimeoutMs?: number,
  ): SegmentCoordinationTable {
    return new SegmentCoordinationTable(
      store,
      clusterTableSegment(scope, jobName),
      operationTimeoutMs,
      false,
    );
  }

  get where(): string {
    return `table segment ${this.segment}`;
  }

  private ensure(): Promise<boolean> {
    if (!this.createIfMissing) return Promise.resolve(false);
    this.created ??= this.call(this.store.createTableSegment(this.segment), 'create').catch(
      (err: unknown) => {
        this.created = undefined;
        throw err;
      },
    );
    return this.created;
  }

  private call<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.operationTimeoutMs, `${what} on ${this.where}`);
  }

  async get(keys: readonly string[]): Promise<(VersionedRecord | undefined)[]> {
    if (keys.length === 0) return [];
    await this.ensure();
    const entries = await this.call(
      this.store.tableGet(
        this.segment,
        keys.map((k) => Buffer.from(k, 'utf8')),
      ),
      'read',
    );
    return entries.map((e, i) =>
      e === undefined ? undefined : this.decode(keys[i] ?? '', e.value, e.version),
    );
  }

  async put(entries: readonly TableWrite[]): Promise<bigint[] | undefined> {
    if (entries.length === 0) return [];
    await this.ensure();
    try {
      return await this.call(
        this.store.tableUpdate(
          this.segment,
          entries.map((e) => {
            const version = toVersion(e.expected);
            return {
              key: Buffer.from(e.key, 'utf8'),
              value: Buffer.from(JSON.stringify(e.value), 'utf8'),
              ...(version === undefined ? {} : { version }),
            };
          }),
        ),
        'conditional update',
      );
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  async remove(keys: readonly { key: string; expected: bigint | 'any' }[]): Promise<boolean> {
    if (keys.length === 0) return true;
    await this.ensure();
    try {
      await this.call(
        this.store.tableRemove(
          this.segment,
          keys.map((k) => ({
            key: Buffer.from(k.key, 'utf8'),
            ...(k.expected === 'any' ? {} : { version: k.expected }),
          })),
        ),
        'conditional remove',
      );
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<VersionedRecord[]> {
    await this.ensure();
    const out: VersionedRecord[] = [];
    let token: Buffer | undefined;
    for (;;) {
      const page = await this.call(
        this.store.tableReadEntries(this.segment, token, PAGE),
        'list entries',
      );
      if (page.entries.length === 0) break;
      for (const e of page.entries) {
        const key = e.key.toString('utf8');
        if (key.startsWith(prefix)) out.push(this.decode(key, e.value, e.version));
      }
      token = page.continuationToken;
    }
    return out;
  }

  async destroy(): Promise<void> {
    await this.call(this.store.deleteTableSegment(this.segment, false), 'delete');
    this.created = undefined;
  }

  private decode(key: string, value: Buffer, version: bigint): VersionedRecord {
    try {
      return { key, value: JSON.parse(value.toString('utf8')) as unknown, version };
    } catch (err) {
      throw new TributaryError(
        'STATE_CORRUPT',
        `record "${key}" in ${this.where} is not JSON: it was not written by tributary's cluster core; delete the table (the job's coordination state) and restart the job`,
        { cause: err, details: { key, where: this.where } },
      );
    }
  }
}
