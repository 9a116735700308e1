import { TributaryError } from '../../errors.js';
import { validateName } from '../protocol/index.js';
import { TABLE_KEY_MUST_NOT_EXIST, type SegmentStore } from '../segment/segment-store.js';

/**
 * Named leases of a scope in one table segment, `<scope>/_tributary-jobs/0.#epoch.0` (routed like
 * any segment, on a real server and the embedded store alike): one key per name, a JSON record as
 * value, every change conditional on the key's version — so copies on different machines sharing
 * a server see one another. Used for "one running copy per job".
 */

export function leaseTableSegment(scope: string): string {
  return `${scope}/_tributary-jobs/0.#epoch.0`;
}

/** One name's record in the lease table of a scope. Versions are the table's key versions. */
export class LeaseTableEntry<R> {
  private readonly segment: string;
  private readonly key: Buffer;
  private created = false;

  constructor(
    private readonly store: SegmentStore,
    scope: string,
    name: string,
  ) {
    validateName('scope', scope);
    if (name.length === 0 || Buffer.byteLength(name, 'utf8') > 4096) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `lease name must be 1..4096 bytes of UTF-8, got ${Buffer.byteLength(name, 'utf8')}`,
      );
    }
    this.segment = leaseTableSegment(scope);
    this.key = Buffer.from(`job/${name}`, 'utf8');
  }

  get where(): string {
    return `table segment ${this.segment}, key ${this.key.toString('utf8')}`;
  }

  private async ensureTable(): Promise<void> {
    if (this.created) return;
    await this.store.createTableSegment(this.segment);
    this.created = true;
  }

  async read(): Promise<{ record: R | undefined; version: bigint } | undefined> {
    await this.ensureTable();
    const [entry] = await this.store.tableGet(this.segment, [this.key]);
    if (entry === undefined) return undefined;
    let record: R | undefined;
    try {
      record = JSON.parse(entry.value.toString('utf8')) as R;
    } catch {
      record = undefined;
    }
    return { record, version: entry.version };
  }

  /** @returns the new version, or undefined if the key exists */
  create(record: R): Promise<bigint | undefined> {
    return this.write(record, TABLE_KEY_MUST_NOT_EXIST);
  }

  /** @returns the new version, or undefined if the key's version is no longer `version` */
  replace(record: R, version: bigint): Promise<bigint | undefined> {
    return this.write(record, version);
  }

  /** Removes the key if it still has `version`. */
  async remove(version: bigint): Promise<void> {
    try {
      await this.store.tableRemove(this.segment, [{ key: this.key, version }]);
    } catch (err) {
      if (
        !TributaryError.is(err, 'TABLE_KEY_BAD_VERSION') &&
        !TributaryError.is(err, 'TABLE_KEY_NOT_FOUND')
      )
        throw err;
    }
  }

  private async write(record: R, version: bigint): Promise<bigint | undefined> {
    await this.ensureTable();
    try {
      const [next] = await this.store.tableUpdate(this.segment, [
        { key: this.key, value: Buffer.from(JSON.stringify(record), 'utf8'), version },
      ]);
      return next;
    } catch (err) {
      if (
        TributaryError.is(err, 'TABLE_KEY_BAD_VERSION') ||
        TributaryError.is(err, 'TABLE_KEY_NOT_FOUND')
      )
        return undefined;
      throw err;
    }
  }
}
