import { TributaryError } from '../../errors.js';
import type {
  AppendSession,
  AppendSessionHandlers,
  SegmentInfo,
  SegmentReadResult,
  SegmentScalePolicy,
  SegmentStore,
  TableEntriesPage,
  TableEntry,
  TableKeyRef,
  TableUpdate,
} from '../segment/segment-store.js';
import { TABLE_KEY_MUST_NOT_EXIST } from '../segment/segment-store.js';
import type { EmbeddedCore } from './core.js';
import type { Op, SegmentState, TableState } from './state.js';

/** Java's Long.MIN_VALUE: the "previous event number" of a writer the store has never seen. */
export const NO_EVENT_NUMBER = -(2n ** 63n);
const EMPTY = Buffer.alloc(0);
const NO_POLICY: SegmentScalePolicy = { type: 'none', targetRate: 0 };
/** the largest block one append may carry (Pravega's wire frames stop at 16 MiB) */
export const MAX_APPEND_BYTES = 64 * 1024 * 1024;

/** As the wire store: a read abandoned through its signal rejects with CANCELLED. */
function cancelled(signal: AbortSignal): TributaryError {
  return new TributaryError('CANCELLED', 'read cancelled', { cause: signal.reason });
}

function tooLarge(bytes: number): TributaryError {
  return new TributaryError(
    'EVENT_TOO_LARGE',
    `an append of ${bytes} bytes exceeds the embedded store's limit of ${MAX_APPEND_BYTES} bytes`,
    { details: { bytes, limit: MAX_APPEND_BYTES } },
  );
}

export function noSuchSegment(name: string): TributaryError {
  return new TributaryError('NO_SUCH_SEGMENT', `segment ${name} does not exist`, {
    details: { segment: name },
  });
}

export function segmentSealed(name: string): TributaryError {
  return new TributaryError('SEGMENT_SEALED', `segment ${name} is sealed`, {
    details: { segment: name },
  });
}

/** The SegmentStore interface over the embedded core. */
export class EmbeddedSegmentStore implements SegmentStore {
  private closed = false;
  private readonly sessions = new Set<EmbeddedAppendSession>();

  constructor(private readonly core: EmbeddedCore) {}

  private check(): void {
    if (this.closed) throw new TributaryError('CLOSED', 'the embedded segment store is closed');
    this.core.checkOpen();
  }

  private segment(name: string): SegmentState {
    const seg = this.core.state.segments.get(name);
    if (seg === undefined) throw noSuchSegment(name);
    return seg;
  }

  private table(name: string): [SegmentState, TableState] {
    const seg = this.segment(name);
    if (seg.table === undefined) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `segment ${name} is not a table segment`);
    }
    return [seg, seg.table];
  }

  async openAppendSession(
    segment: string,
    writerId: string,
    handlers: AppendSessionHandlers,
  ): Promise<AppendSession> {
    this.check();
    if (writerId.length === 0 || Buffer.byteLength(writerId) > 1024) {
      throw new TributaryError('ILLEGAL_ARGUMENT', 'a writer id must have 1 to 1024 bytes');
    }
    // what this writer has appended must be durable before it is reported
    await this.core.durable();
    const seg = this.segment(segment);
    if (seg.sealed) throw segmentSealed(segment);
    if (seg.table !== undefined) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `segment ${segment} is a table segment`);
    }
    const session = new EmbeddedAppendSession(
      this.core,
      segment,
      writerId,
      seg.writers.get(writerId)?.en,
      handlers,
      () => this.sessions.delete(session),
    );
    this.sessions.add(session);
    return session;
  }

  async conditionalAppend(
    segment: string,
    expectedOffset: bigint,
    framedEvent: Buffer,
  ): Promise<boolean> {
    this.check();
    if (framedEvent.length > MAX_APPEND_BYTES) throw tooLarge(framedEvent.length);
    const seg = this.segment(segment);
    if (seg.sealed) throw segmentSealed(segment);
    if (BigInt(seg.length) !== expectedOffset) {
      await this.core.settled();
      return false;
    }
    await new Promise<void>((resolve, reject) => {
      this.core.appendData(seg, '', EMPTY, 0n, 1, framedEvent, (err) =>
        err === undefined ? resolve() : reject(err),
      );
    });
    return true;
  }

  async read(
    segment: string,
    offset: bigint,
    suggestedLength: number,
    signal?: AbortSignal,
  ): Promise<SegmentReadResult> {
    const off = Number(offset);
    if (!Number.isSafeInteger(off) || off < 0) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `bad read offset ${offset}`);
    }
    const want = Math.max(1, Math.floor(suggestedLength));
    for (;;) {
      this.check();
      if (signal?.aborted === true) throw cancelled(signal);
      const seg = this.segment(segment);
      if (off < seg.startOffset) {
        throw new TributaryError(
          'SEGMENT_TRUNCATED',
          `segment ${segment} is truncated at ${seg.startOffset}; offset ${off} is gone`,
          { details: { segment, startOffset: BigInt(seg.startOffset) } },
        );
      }
      const sealed = seg.sealed && this.core.durableSeq >= seg.sealSeq;
      if (off < seg.durableLength) {
        const data = await this.core.readBytes(seg, off, want);
        const end = off + data.length;
        const atTail = end >= seg.durableLength;
        return { offset, data, atTail, endOfSegment: atTail && sealed };
      }
      if (sealed) return { offset, data: EMPTY, atTail: true, endOfSegment: true };
      // long poll: wait for data, a seal, a deletion, or the signal
      let aborted = false;
      await new Promise<void>((resolve) => {
        const waiter = {
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          aborted = true;
          seg.waiters = seg.waiters.filter((w) => w !== waiter);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        seg.waiters.push(waiter);
      });
      if (aborted && signal !== undefined) throw cancelled(signal);
    }
  }

  async getInfo(segment: string): Promise<SegmentInfo> {
    this.check();
    await this.core.settled();
    const seg = this.segment(segment);
    return {
      segment,
      sealed: seg.sealed,
      lastModified: BigInt(seg.lastModified),
      length: BigInt(seg.durableLength),
      startOffset: BigInt(seg.startOffset),
    };
  }

  async createSegment(segment: string, policy?: SegmentScalePolicy): Promise<boolean> {
    return this.create(segment, false, policy ?? NO_POLICY);
  }

  private async create(name: string, table: boolean, policy: SegmentScalePolicy): Promise<boolean> {
    this.check();
    if (name.length === 0 || name.length > 4096) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `bad segment name ${JSON.stringify(name)}`);
    }
    if (this.core.state.segments.has(name)) {
      await this.core.settled();
      return false;
    }
    const handle = this.core.state.nextHandle++;
    await this.core.meta({ op: 'createSegment', name, handle, table, policy: { ...policy } });
    return true;
  }

  async sealSegment(segment: string): Promise<bigint> {
    this.check();
    const seg = this.segment(segment);
    if (!seg.sealed) await this.core.meta({ op: 'seal', name: segment });
    await this.core.settled();
    return BigInt(seg.length);
  }

  async truncateSegment(segment: string, offset: bigint): Promise<void> {
    this.check();
    const seg = this.segment(segment);
    const off = Number(offset);
    if (!Number.isSafeInteger(off) || off < 0 || off > seg.length) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `cannot truncate ${segment} at ${offset}: it is ${seg.length} bytes long`,
      );
    }
    if (off > seg.startOffset) await this.core.meta({ op: 'truncate', name: segment, offset: off });
    else await this.core.settled();
  }

  async deleteSegment(segment: string): Promise<boolean> {
    this.check();
    if (!this.core.state.segments.has(segment)) {
      await this.core.settled();
      return false;
    }
    await this.core.meta({ op: 'delete', name: segment });
    return true;
  }

  async mergeSegments(target: string, sources: readonly string[]): Promise<bigint> {
    this.check();
    const tgt = this.segment(target);
    const ops: Op[] = [];
    const seen = new Set<string>();
    for (const source of sources) {
      if (tgt.merged.has(source) || seen.has(source)) continue;
      if (source === target) {
        throw new TributaryError('ILLEGAL_ARGUMENT', `cannot merge ${target} into itself`);
      }
      const src = this.segment(source);
      if (src.table !== undefined || tgt.table !== undefined) {
        throw new TributaryError('ILLEGAL_ARGUMENT', 'table segments cannot be merged');
      }
      if (src.startOffset > 0) {
        throw new TributaryError('ILLEGAL_ARGUMENT', `cannot merge truncated segment ${source}`);
      }
      seen.add(source);
      ops.push({ op: 'merge', target, source });
    }
    if (ops.length > 0) {
      if (tgt.sealed) throw segmentSealed(target);
      await this.core.meta({ op: 'batch', ops });
    } else {
      await this.core.settled();
    }
    return BigInt(tgt.length);
  }

  async updateSegmentPolicy(segment: string, policy: SegmentScalePolicy): Promise<void> {
    this.check();
    this.segment(segment);
    await this.core.meta({ op: 'policy', name: segment, policy: { ...policy } });
  }

  async getAttribute(segment: string, attributeId: string): Promise<bigint | undefined> {
    this.check();
    const value = this.segment(segment).attributes.get(attributeId);
    await this.core.settled();
    return value;
  }

  async updateAttribute(
    segment: string,
    attributeId: string,
    value: bigint,
    expected: bigint | undefined,
  ): Promise<boolean> {
    this.check();
    const seg = this.segment(segment);
    if (seg.attributes.get(attributeId) !== expected) {
      await this.core.settled();
      return false;
    }
    await this.core.meta({ op: 'attr', name: segment, id: attributeId, value });
    return true;
  }

  // ---- table segments ----

  async createTableSegment(segment: string): Promise<boolean> {
    return this.create(segment, true, NO_POLICY);
  }

  async deleteTableSegment(segment: string, mustBeEmpty: boolean): Promise<boolean> {
    this.check();
    const seg = this.core.state.segments.get(segment);
    if (seg === undefined) {
      await this.core.settled();
      return false;
    }
    if (mustBeEmpty && seg.table !== undefined && seg.table.entries.size > 0) {
      throw new TributaryError('TABLE_NOT_EMPTY', `table segment ${segment} is not empty`, {
        details: { segment },
      });
    }
    await this.core.meta({ op: 'delete', name: segment });
    return true;
  }

  async tableGet(segment: string, keys: readonly Buffer[]): Promise<(TableEntry | undefined)[]> {
    this.check();
    const [, table] = this.table(segment);
    const out = keys.map((k) => {
      const e = table.entries.get(k.toString('base64'));
      return e === undefined ? undefined : { key: e.key, value: e.value, version: e.version };
    });
    await this.core.settled();
    return out;
  }

  async tableUpdate(segment: string, entries: readonly TableUpdate[]): Promise<bigint[]> {
    this.check();
    const [, table] = this.table(segment);
    const keys = entries.map((e) => e.key.toString('base64'));
    checkDistinct(segment, keys);
    entries.forEach((e, i) => checkVersion(segment, table, keys[i] ?? '', e.version));
    let next = table.nextVersion;
    const versions: bigint[] = [];
    const rows: [string, string, bigint][] = entries.map((e, i) => {
      const v = next++;
      versions.push(v);
      return [keys[i] ?? '', e.value.toString('base64'), v];
    });
    if (rows.length > 0) await this.core.meta({ op: 'tput', name: segment, entries: rows });
    return versions;
  }

  async tableRemove(segment: string, keys: readonly TableKeyRef[]): Promise<void> {
    this.check();
    const [, table] = this.table(segment);
    const ks = keys.map((k) => k.key.toString('base64'));
    checkDistinct(segment, ks);
    keys.forEach((k, i) => {
      const key = ks[i] ?? '';
      if (k.version === TABLE_KEY_MUST_NOT_EXIST && !table.entries.has(key)) return;
      checkVersion(segment, table, key, k.version);
    });
    const present = ks.filter((k) => table.entries.has(k));
    if (present.length > 0) await this.core.meta({ op: 'tdel', name: segment, keys: present });
    else await this.core.settled();
  }

  async tableReadEntries(
    segment: string,
    continuationToken: Buffer | undefined,
    maxCount: number,
  ): Promise<TableEntriesPage> {
    this.check();
    const [, table] = this.table(segment);
    const after =
      continuationToken === undefined || continuationToken.length === 0
        ? undefined
        : continuationToken.toString('utf8');
    const keys = [...table.entries.keys()]
      .filter((k) => after === undefined || k > after)
      .sort()
      .slice(0, Math.max(1, Math.floor(maxCount)));
    const entries: TableEntry[] = [];
    for (const k of keys) {
      const e = table.entries.get(k);
      if (e !== undefined) entries.push({ key: e.key, value: e.value, version: e.version });
    }
    const last = keys[keys.length - 1];
    await this.core.settled();
    return {
      entries,
      continuationToken:
        last === undefined ? (continuationToken ?? EMPTY) : Buffer.from(last, 'utf8'),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.sessions]) s.close();
  }
}

function checkDistinct(segment: string, keys: readonly string[]): void {
  if (new Set(keys).size !== keys.length) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `a key appears twice in one update of ${segment}`);
  }
}

function checkVersion(
  segment: string,
  table: TableState,
  key: string,
  version: bigint | undefined,
): void {
  if (version === undefined) return;
  const current = table.entries.get(key);
  if (version === TABLE_KEY_MUST_NOT_EXIST) {
    if (current !== undefined) {
      throw new TributaryError(
        'TABLE_KEY_BAD_VERSION',
        `table ${segment}: key ${key} exists (version ${current.version}) but must not`,
        { details: { segment, key, current: current.version } },
      );
    }
    return;
  }
  if (current === undefined) {
    throw new TributaryError('TABLE_KEY_NOT_FOUND', `table ${segment}: key ${key} does not exist`, {
      details: { segment, key },
    });
  }
  if (current.version !== version) {
    throw new TributaryError(
      'TABLE_KEY_BAD_VERSION',
      `table ${segment}: key ${key} has version ${current.version}, not ${version}`,
      { details: { segment, key, current: current.version, expected: version } },
    );
  }
}

/** Appends of one writer id to one segment. */
class EmbeddedAppendSession implements AppendSession {
  private readonly writerBytes: Buffer;
  /** highest event number this session handed to the log */
  private lastQueued: bigint;
  /** highest event number known durable, not yet reported */
  private durableUpTo: bigint;
  private acked: bigint;
  /** seq of the last record this session queued */
  private lastSeq = 0;
  private done = false;

  constructor(
    private readonly core: EmbeddedCore,
    private readonly segment: string,
    private readonly writerId: string,
    readonly lastEventNumber: bigint | undefined,
    private readonly handlers: AppendSessionHandlers,
    private readonly onClose: () => void,
  ) {
    this.writerBytes = Buffer.from(writerId, 'utf8');
    this.lastQueued = lastEventNumber ?? NO_EVENT_NUMBER;
    this.durableUpTo = this.lastQueued;
    this.acked = this.lastQueued;
  }

  append(framedEvents: Buffer, eventCount: number, lastEventNumber: bigint): void {
    if (this.done) return;
    if (!Number.isInteger(eventCount) || eventCount < 1 || framedEvents.length === 0) {
      this.fail(new TributaryError('ILLEGAL_ARGUMENT', 'an append needs at least one event'));
      return;
    }
    if (framedEvents.length > MAX_APPEND_BYTES) {
      this.fail(tooLarge(framedEvents.length));
      return;
    }
    if (this.core.failed !== undefined || this.core.isClosing) {
      this.fail(
        this.core.failed ?? new TributaryError('CLOSED', 'the embedded Pravega store is closed'),
      );
      return;
    }
    const seg = this.core.state.segments.get(this.segment);
    if (seg === undefined) {
      this.fail(noSuchSegment(this.segment));
      return;
    }
    const stored = seg.writers.get(this.writerId);
    if (stored !== undefined && lastEventNumber <= stored.en) {
      // already stored (a resend after a reconnect): acknowledge once that is durable, never write
      const seq = stored.seq;
      if (seq > this.lastSeq) this.lastSeq = seq;
      this.core.durable(seq).then(
        () => this.markDurable(lastEventNumber),
        (err: unknown) => this.fail(err as Error),
      );
      return;
    }
    const first = lastEventNumber - BigInt(eventCount) + 1n;
    if (first <= this.lastQueued) {
      this.fail(
        new TributaryError(
          'INVALID_EVENT_NUMBER',
          `writer ${this.writerId} on ${this.segment}: events ${first}..${lastEventNumber} overlap the stored ${this.lastQueued}`,
        ),
      );
      return;
    }
    if (seg.sealed) {
      this.fail(segmentSealed(this.segment));
      return;
    }
    this.lastQueued = lastEventNumber;
    try {
      this.lastSeq = this.core.appendData(
        seg,
        this.writerId,
        this.writerBytes,
        lastEventNumber,
        eventCount,
        framedEvents,
        (err) => (err === undefined ? this.markDurable(lastEventNumber) : this.fail(err)),
      );
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private markDurable(eventNumber: bigint): void {
    if (eventNumber > this.durableUpTo) {
      this.durableUpTo = eventNumber;
      this.core.dirtySessions.add(this);
    }
  }

  /** Reports the acks gathered during one group commit (called by the core). */
  flushAck(): void {
    if (this.done || this.durableUpTo <= this.acked) return;
    const previous = this.acked;
    this.acked = this.durableUpTo;
    try {
      this.handlers.onAck(this.acked, previous);
    } catch {
      // a handler's exception must not disturb the log
    }
  }

  /** Fails the session after the acks of everything it appended before. */
  private fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.onClose();
    const report = (): void => {
      this.done = false;
      this.flushAck();
      this.done = true;
      try {
        this.handlers.onFailure(error);
      } catch {
        // ignored, see flushAck
      }
    };
    this.core.durable(this.lastSeq).then(report, report);
  }

  close(): void {
    this.done = true;
    this.onClose();
  }
}
