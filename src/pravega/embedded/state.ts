import type { StreamConfig } from '../controller/types.js';
import type { SegmentScalePolicy } from '../segment/segment-store.js';

/*
 * Everything the embedded store knows, in memory. It changes only through `applyData` and
 * `applyOp`, the same functions on the live path (when a record is queued to the log) and during
 * recovery (when the log is replayed over the last snapshot), so both give the same state.
 */

/** A run of segment bytes [o, o + l) stored at file position p of log file f. */
export interface Extent {
  readonly o: number;
  readonly f: number;
  readonly p: number;
  readonly l: number;
}

export interface WriterState {
  /** last event number written */
  en: bigint;
  /** sequence number of the record that wrote it */
  seq: number;
}

export interface TableEntryState {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: bigint;
}

export interface TableState {
  readonly entries: Map<string, TableEntryState>;
  nextVersion: bigint;
}

export interface TailWaiter {
  readonly wake: () => void;
}

export class SegmentState {
  /** bytes ever appended, including records not yet durable */
  length = 0;
  /** bytes ever appended and durable: what reads and getInfo show */
  durableLength = 0;
  startOffset = 0;
  sealed = false;
  /** seq of the record that sealed the segment: the seal is visible once it is durable */
  sealSeq = 0;
  readonly extents: Extent[] = [];
  readonly writers = new Map<string, WriterState>();
  readonly attributes = new Map<string, bigint>();
  /** sources already merged into this segment, for idempotent merges */
  readonly merged = new Set<string>();
  lastModified = Date.now();
  /** reads waiting at the tail */
  waiters: TailWaiter[] = [];
  /** auto-scaling counters since the last measurement (not persisted) */
  statEvents = 0;
  statBytes = 0;
  rateEvents = 0;
  rateBytes = 0;
  deleted = false;

  constructor(
    readonly handle: number,
    readonly name: string,
    public policy: SegmentScalePolicy,
    readonly table: TableState | undefined,
    readonly createdAt: number,
  ) {}

  wakeAll(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.wake();
  }
}

export interface EpochSegment {
  readonly id: bigint;
  readonly minKey: number;
  readonly maxKey: number;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly createdAt: number;
  readonly segments: readonly EpochSegment[];
}

export interface RetentionCut {
  readonly time: number;
  /** bytes written to the stream up to the cut */
  readonly size: number;
  readonly positions: readonly (readonly [bigint, bigint])[];
}

export interface StreamRecord {
  readonly scope: string;
  readonly stream: string;
  readonly config: StreamConfig;
  readonly sealed: boolean;
  readonly epochs: readonly EpochRecord[];
  /** the truncation point: segment id → start offset */
  readonly head: readonly (readonly [bigint, bigint])[];
  readonly nextNumber: number;
  readonly retentionCuts: readonly RetentionCut[];
  readonly createdAt: number;
}

export type TxnStatus = 'open' | 'committed' | 'aborted';

export interface TxnRecord {
  readonly stream: string;
  readonly txnId: string;
  readonly epoch: number;
  readonly status: TxnStatus;
  readonly leaseMillis: number;
  readonly createdAt: number;
  /** generalized ids (txn epoch) of the parent segments */
  readonly segments: readonly bigint[];
}

export type Op =
  | {
      readonly op: 'createSegment';
      readonly name: string;
      readonly handle: number;
      readonly table: boolean;
      readonly policy: SegmentScalePolicy;
    }
  | { readonly op: 'seal'; readonly name: string }
  | { readonly op: 'truncate'; readonly name: string; readonly offset: number }
  | { readonly op: 'delete'; readonly name: string }
  | { readonly op: 'merge'; readonly target: string; readonly source: string }
  | {
      readonly op: 'attr';
      readonly name: string;
      readonly id: string;
      readonly value: bigint | null;
    }
  | { readonly op: 'policy'; readonly name: string; readonly policy: SegmentScalePolicy }
  | {
      readonly op: 'tput';
      readonly name: string;
      readonly entries: readonly (readonly [string, string, bigint])[];
    }
  | { readonly op: 'tdel'; readonly name: string; readonly keys: readonly string[] }
  | { readonly op: 'scope'; readonly scope: string; readonly exists: boolean }
  | { readonly op: 'stream'; readonly key: string; readonly value: StreamRecord | null }
  | { readonly op: 'floor'; readonly key: string; readonly next: number }
  | { readonly op: 'txn'; readonly txnId: string; readonly value: TxnRecord | null }
  | { readonly op: 'batch'; readonly ops: readonly Op[] };

/** Thrown when the log or a snapshot contradicts the state: the directory is corrupt. */
export class StateError extends Error {}

const MAX_MERGED_REMEMBERED = 100_000;

export class StoreState {
  readonly segments = new Map<string, SegmentState>();
  readonly byHandle = new Map<number, SegmentState>();
  nextHandle = 1;
  readonly scopes = new Set<string>();
  readonly streams = new Map<string, StreamRecord>();
  /** first segment number for a stream name that is created again after deletion */
  readonly floors = new Map<string, number>();
  readonly txns = new Map<string, TxnRecord>();
  /** number of extents that point into each log file */
  readonly fileRefs = new Map<number, number>();

  addRef(fileNo: number, n: number): void {
    const v = (this.fileRefs.get(fileNo) ?? 0) + n;
    if (v <= 0) this.fileRefs.delete(fileNo);
    else this.fileRefs.set(fileNo, v);
  }

  applyData(
    handle: number,
    offset: number,
    writer: string,
    eventNumber: bigint,
    seq: number,
    fileNo: number,
    dataPos: number,
    length: number,
  ): SegmentState {
    const seg = this.byHandle.get(handle);
    if (seg === undefined)
      throw new StateError(`data record ${seq} for unknown segment handle ${handle}`);
    if (offset !== seg.length) {
      throw new StateError(
        `data record ${seq} for ${seg.name} at offset ${offset}, but the segment is ${seg.length} bytes long`,
      );
    }
    if (length > 0) {
      const last = seg.extents[seg.extents.length - 1];
      if (last !== undefined && last.f === fileNo && last.p + last.l === dataPos) {
        seg.extents[seg.extents.length - 1] = {
          o: last.o,
          f: fileNo,
          p: last.p,
          l: last.l + length,
        };
      } else {
        seg.extents.push({ o: offset, f: fileNo, p: dataPos, l: length });
        this.addRef(fileNo, 1);
      }
    }
    seg.length += length;
    if (writer !== '') {
      const w = seg.writers.get(writer);
      if (w === undefined) seg.writers.set(writer, { en: eventNumber, seq });
      else {
        w.en = eventNumber;
        w.seq = seq;
      }
    }
    seg.lastModified = Date.now();
    return seg;
  }

  /**
   * Moves one extent to a new place in the log (compaction). A no-op when the extent is no longer
   * there (truncated, deleted or merged away since the data was read): replay sees the same state.
   */
  applyRelocate(
    handle: number,
    offset: number,
    oldFile: number,
    oldPos: number,
    length: number,
    fileNo: number,
    dataPos: number,
  ): boolean {
    const seg = this.byHandle.get(handle);
    if (seg === undefined) return false;
    const ext = seg.extents;
    let lo = 0;
    let hi = ext.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ext[mid]?.o ?? 0) < offset) lo = mid + 1;
      else hi = mid;
    }
    const e = ext[lo];
    if (e === undefined || e.o !== offset || e.f !== oldFile || e.p !== oldPos || e.l !== length) {
      return false;
    }
    ext[lo] = { o: offset, f: fileNo, p: dataPos, l: length };
    this.addRef(oldFile, -1);
    this.addRef(fileNo, 1);
    return true;
  }

  private need(name: string, what: string): SegmentState {
    const seg = this.segments.get(name);
    if (seg === undefined) throw new StateError(`${what} of unknown segment ${name}`);
    return seg;
  }

  /**
   * Applies one metadata operation. `touched` collects the segments whose visible state changes
   * when the record becomes durable (lengths after merges, seals, deletions).
   */
  applyOp(op: Op, seq: number, touched: SegmentState[] | undefined): void {
    switch (op.op) {
      case 'createSegment': {
        if (this.segments.has(op.name)) throw new StateError(`segment ${op.name} created twice`);
        const seg = new SegmentState(
          op.handle,
          op.name,
          op.policy,
          op.table ? { entries: new Map(), nextVersion: 0n } : undefined,
          Date.now(),
        );
        this.segments.set(op.name, seg);
        this.byHandle.set(op.handle, seg);
        if (op.handle >= this.nextHandle) this.nextHandle = op.handle + 1;
        return;
      }
      case 'seal': {
        const seg = this.need(op.name, 'seal');
        if (!seg.sealed) {
          seg.sealed = true;
          seg.sealSeq = seq;
        }
        touched?.push(seg);
        return;
      }
      case 'truncate': {
        const seg = this.need(op.name, 'truncate');
        if (op.offset > seg.startOffset) {
          seg.startOffset = op.offset;
          let drop = 0;
          for (const e of seg.extents) {
            if (e.o + e.l > op.offset) break;
            this.addRef(e.f, -1);
            drop++;
          }
          if (drop > 0) seg.extents.splice(0, drop);
        }
        touched?.push(seg);
        return;
      }
      case 'delete': {
        const seg = this.need(op.name, 'delete');
        for (const e of seg.extents) this.addRef(e.f, -1);
        seg.extents.length = 0;
        seg.deleted = true;
        this.segments.delete(op.name);
        this.byHandle.delete(seg.handle);
        touched?.push(seg);
        return;
      }
      case 'merge': {
        const target = this.need(op.target, 'merge into');
        const source = this.need(op.source, 'merge');
        const base = target.length - source.startOffset;
        for (const e of source.extents) {
          target.extents.push({ o: base + e.o, f: e.f, p: e.p, l: e.l });
        }
        target.length += source.length - source.startOffset;
        target.lastModified = Date.now();
        target.statBytes += source.length - source.startOffset;
        source.extents.length = 0;
        source.deleted = true;
        source.sealed = true;
        this.segments.delete(op.source);
        this.byHandle.delete(source.handle);
        target.merged.add(op.source);
        if (target.merged.size > MAX_MERGED_REMEMBERED) {
          const oldest = target.merged.values().next();
          if (oldest.done !== true) target.merged.delete(oldest.value);
        }
        touched?.push(target, source);
        return;
      }
      case 'attr': {
        const seg = this.need(op.name, 'attribute update');
        if (op.value === null) seg.attributes.delete(op.id);
        else seg.attributes.set(op.id, op.value);
        return;
      }
      case 'policy':
        this.need(op.name, 'policy update').policy = op.policy;
        return;
      case 'tput': {
        const seg = this.need(op.name, 'table update');
        const table = seg.table;
        if (table === undefined)
          throw new StateError(`table update of non-table segment ${op.name}`);
        for (const [k, v, version] of op.entries) {
          table.entries.set(k, {
            key: Buffer.from(k, 'base64'),
            value: Buffer.from(v, 'base64'),
            version,
          });
          if (version >= table.nextVersion) table.nextVersion = version + 1n;
        }
        seg.lastModified = Date.now();
        return;
      }
      case 'tdel': {
        const seg = this.need(op.name, 'table removal');
        const table = seg.table;
        if (table === undefined)
          throw new StateError(`table removal of non-table segment ${op.name}`);
        for (const k of op.keys) table.entries.delete(k);
        seg.lastModified = Date.now();
        return;
      }
      case 'scope':
        if (op.exists) this.scopes.add(op.scope);
        else this.scopes.delete(op.scope);
        return;
      case 'stream':
        if (op.value === null) this.streams.delete(op.key);
        else this.streams.set(op.key, op.value);
        return;
      case 'floor':
        this.floors.set(op.key, op.next);
        return;
      case 'txn':
        if (op.value === null) this.txns.delete(op.txnId);
        else this.txns.set(op.txnId, op.value);
        return;
      case 'batch':
        for (const sub of op.ops) this.applyOp(sub, seq, touched);
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // snapshots

  toSnapshot(): unknown {
    const segments = [];
    for (const s of this.segments.values()) {
      segments.push({
        h: s.handle,
        n: s.name,
        len: s.length,
        start: s.startOffset,
        sealed: s.sealed,
        policy: s.policy,
        ext: s.extents.map((e) => [e.o, e.f, e.p, e.l]),
        w: [...s.writers].map(([id, w]) => [id, w.en]),
        a: [...s.attributes],
        m: [...s.merged],
        t:
          s.table === undefined
            ? null
            : {
                next: s.table.nextVersion,
                e: [...s.table.entries].map(([k, e]) => [k, e.value.toString('base64'), e.version]),
              },
      });
    }
    return {
      nextHandle: this.nextHandle,
      scopes: [...this.scopes],
      streams: [...this.streams.values()],
      floors: [...this.floors],
      txns: [...this.txns.values()],
      segments,
    };
  }

  static fromSnapshot(data: unknown): StoreState {
    const st = new StoreState();
    const d = data as SnapshotShape;
    st.nextHandle = d.nextHandle;
    for (const s of d.scopes) st.scopes.add(s);
    for (const s of d.streams) st.streams.set(`${s.scope}/${s.stream}`, s);
    for (const [k, v] of d.floors) st.floors.set(k, v);
    for (const t of d.txns) st.txns.set(t.txnId, t);
    for (const s of d.segments) {
      const table: TableState | undefined =
        s.t === null
          ? undefined
          : {
              nextVersion: s.t.next,
              entries: new Map(
                s.t.e.map(([k, v, version]) => [
                  k,
                  { key: Buffer.from(k, 'base64'), value: Buffer.from(v, 'base64'), version },
                ]),
              ),
            };
      const seg = new SegmentState(s.h, s.n, s.policy, table, Date.now());
      seg.length = s.len;
      seg.durableLength = s.len;
      seg.startOffset = s.start;
      seg.sealed = s.sealed;
      for (const [o, f, p, l] of s.ext) {
        seg.extents.push({ o, f, p, l });
        st.addRef(f, 1);
      }
      for (const [id, en] of s.w) seg.writers.set(id, { en, seq: 0 });
      for (const [id, v] of s.a) seg.attributes.set(id, v);
      for (const m of s.m) seg.merged.add(m);
      st.segments.set(seg.name, seg);
      st.byHandle.set(seg.handle, seg);
    }
    return st;
  }
}

interface SnapshotShape {
  nextHandle: number;
  scopes: string[];
  streams: StreamRecord[];
  floors: [string, number][];
  txns: TxnRecord[];
  segments: {
    h: number;
    n: string;
    len: number;
    start: number;
    sealed: boolean;
    policy: SegmentScalePolicy;
    ext: [number, number, number, number][];
    w: [string, bigint][];
    a: [string, bigint][];
    m: string[];
    t: { next: bigint; e: [string, string, bigint][] } | null;
  }[];
}

// JSON with bigints: a bigint travels as {"$n":"123"}

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'bigint' ? { $n: v.toString() } : v,
  );
}

export function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$n === 'string' && Object.keys(o).length === 1) return BigInt(o.$n);
    }
    return v;
  });
}
