import { randomBytes } from 'node:crypto';
import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type {
  AccessOperation,
  CreatedTxn,
  Endpoint,
  PingStatus,
  ScaleResult,
  ScaleStatus,
  SegmentId,
  SegmentWithRange,
  StreamConfig,
  StreamCutPositions,
  StreamId,
  Successor,
  TxnState,
} from '../controller/types.js';
import { streamKey } from '../controller/types.js';
import { StreamConfigSchema } from '../controller/stream-config.js';
import {
  epochOf,
  segmentIdOf,
  segmentName,
  segmentNumberOf,
  transactionSegmentName,
  validateName,
} from '../protocol/segment-name.js';
import { uuidFromLongs } from '../protocol/uuid.js';
import type { SegmentScalePolicy } from '../segment/segment-store.js';
import type { EmbeddedCore } from './core.js';
import type { EmbeddedOptions } from './options.js';
import type {
  EpochRecord,
  EpochSegment,
  Op,
  RetentionCut,
  StreamRecord,
  TxnRecord,
} from './state.js';

/** What getEndpoint answers: the segments live in this process. */
export const EMBEDDED_ENDPOINT: Endpoint = { host: 'embedded', port: 0 };
const COMPLETED_TXN_TTL_MS = 24 * 3600_000;
const MAX_RETENTION_CUTS = 1000;

function checkConfig(config: StreamConfig): void {
  const r = StreamConfigSchema.safeParse(config);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new TributaryError('CONFIG_INVALID', `invalid stream configuration: ${why.join('; ')}`, {
      details: { issues: why },
    });
  }
}

function segmentPolicy(config: StreamConfig): SegmentScalePolicy {
  const p = config.scalingPolicy;
  if (p.type === 'byEventRate') return { type: 'eventRate', targetRate: p.targetRate };
  if (p.type === 'byDataRate') return { type: 'throughput', targetRate: p.targetRate };
  return { type: 'none', targetRate: 0 };
}

function overlaps(
  a: { minKey: number; maxKey: number },
  b: { minKey: number; maxKey: number },
): boolean {
  return a.minKey < b.maxKey && b.minKey < a.maxKey;
}

function streamNotFound(stream: StreamId): TributaryError {
  return new TributaryError('STREAM_NOT_FOUND', `stream ${streamKey(stream)} does not exist`, {
    details: { scope: stream.scope, stream: stream.stream },
  });
}

function streamSealed(stream: StreamId): TributaryError {
  return new TributaryError('STREAM_SEALED', `stream ${streamKey(stream)} is sealed`, {
    details: { scope: stream.scope, stream: stream.stream },
  });
}

interface Lease {
  deadline: number;
  /** the lease may not be extended past this */
  limit: number;
}

/** The Controller interface over the embedded core. */
export class EmbeddedController implements Controller {
  private closed = false;
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly core: EmbeddedCore,
    private readonly options: EmbeddedOptions,
  ) {
    const now = Date.now();
    // leases restart at recovery, as Pravega's timeout service does after a controller failover
    for (const txn of core.state.txns.values()) {
      if (txn.status === 'open') {
        this.leases.set(txn.txnId, {
          deadline: now + txn.leaseMillis,
          limit: now + this.options.transactions.maxExecutionMs,
        });
      }
    }
    core.addTimer(options.transactions.checkIntervalMs, () => this.expireTransactions());
    core.addTimer(options.autoScale.checkIntervalMs, () => this.autoScale());
    core.addTimer(options.retention.intervalMs, () => this.applyRetention());
  }

  private get state() {
    return this.core.state;
  }

  private check(): void {
    if (this.closed) throw new TributaryError('CLOSED', 'the embedded controller is closed');
    this.core.checkOpen();
  }

  private stream(stream: StreamId): StreamRecord {
    const rec = this.state.streams.get(streamKey(stream));
    if (rec === undefined) {
      if (!this.state.scopes.has(stream.scope)) {
        throw new TributaryError('SCOPE_NOT_FOUND', `scope ${stream.scope} does not exist`, {
          details: { scope: stream.scope },
        });
      }
      throw streamNotFound(stream);
    }
    return rec;
  }

  /** Runs `fn` (synchronous: it reads the state and queues operations), then waits until durable. */
  private async run<T>(fn: () => T): Promise<T> {
    this.check();
    const result = fn();
    await this.core.settled();
    return result;
  }

  // ---- scopes ----

  async createScope(scope: string): Promise<boolean> {
    validateName('scope', scope);
    return this.run(() => {
      if (this.state.scopes.has(scope)) return false;
      void this.queue({ op: 'scope', scope, exists: true });
      return true;
    });
  }

  async deleteScope(scope: string): Promise<boolean> {
    return this.run(() => {
      if (!this.state.scopes.has(scope)) return false;
      for (const rec of this.state.streams.values()) {
        if (rec.scope === scope) {
          throw new TributaryError('SCOPE_NOT_EMPTY', `scope ${scope} still holds streams`, {
            details: { scope },
          });
        }
      }
      void this.queue({ op: 'scope', scope, exists: false });
      return true;
    });
  }

  async scopeExists(scope: string): Promise<boolean> {
    return this.run(() => this.state.scopes.has(scope));
  }

  async *listScopes(): AsyncIterable<string> {
    const scopes = await this.run(() => [...this.state.scopes].sort());
    yield* scopes;
  }

  /** Queues an operation; its durability is awaited by {@link run} through `settled()`. */
  private queue(op: Op): Promise<void> {
    const p = this.core.meta(op);
    p.catch(() => undefined);
    return p;
  }

  // ---- streams ----

  async createStream(stream: StreamId, config: StreamConfig): Promise<boolean> {
    validateName('scope', stream.scope);
    validateName('stream', stream.stream, true);
    checkConfig(config);
    return this.run(() => {
      if (!this.state.scopes.has(stream.scope)) {
        throw new TributaryError('SCOPE_NOT_FOUND', `scope ${stream.scope} does not exist`, {
          details: { scope: stream.scope },
        });
      }
      const key = streamKey(stream);
      if (this.state.streams.has(key)) return false;
      const n = config.scalingPolicy.minSegments;
      const start = this.state.floors.get(key) ?? 0;
      const segments: EpochSegment[] = [];
      for (let i = 0; i < n; i++) {
        segments.push({
          id: segmentIdOf(0, start + i),
          minKey: i / n,
          maxKey: i === n - 1 ? 1 : (i + 1) / n,
        });
      }
      const now = Date.now();
      const rec: StreamRecord = {
        scope: stream.scope,
        stream: stream.stream,
        config: structuredClone(config),
        sealed: false,
        epochs: [{ epoch: 0, createdAt: now, segments }],
        head: segments.map((s) => [s.id, 0n] as const),
        nextNumber: start + n,
        retentionCuts: [],
        createdAt: now,
      };
      const policy = segmentPolicy(config);
      void this.queue({
        op: 'batch',
        ops: [
          ...segments.map((s) =>
            this.createOp(segmentName(stream.scope, stream.stream, s.id), policy),
          ),
          { op: 'stream', key, value: rec },
        ],
      });
      return true;
    });
  }

  private createOp(name: string, policy: SegmentScalePolicy): Op {
    return { op: 'createSegment', name, handle: this.state.nextHandle++, table: false, policy };
  }

  async updateStream(stream: StreamId, config: StreamConfig): Promise<void> {
    checkConfig(config);
    return this.run(() => {
      const rec = this.stream(stream);
      if (rec.sealed) throw streamSealed(stream);
      const policy = segmentPolicy(config);
      const current = lastEpoch(rec);
      void this.queue({
        op: 'batch',
        ops: [
          ...current.segments.map((s): Op => ({
            op: 'policy',
            name: segmentName(rec.scope, rec.stream, s.id),
            policy,
          })),
          {
            op: 'stream',
            key: streamKey(stream),
            value: { ...rec, config: structuredClone(config) },
          },
        ],
      });
    });
  }

  async getStreamConfig(stream: StreamId): Promise<StreamConfig> {
    return this.run(() => structuredClone(this.stream(stream).config));
  }

  async streamExists(stream: StreamId): Promise<boolean> {
    return this.run(() => this.state.streams.has(streamKey(stream)));
  }

  async *listStreams(scope: string): AsyncIterable<StreamId> {
    const list = await this.run(() => {
      if (!this.state.scopes.has(scope)) {
        throw new TributaryError('SCOPE_NOT_FOUND', `scope ${scope} does not exist`, {
          details: { scope },
        });
      }
      return [...this.state.streams.values()]
        .filter((r) => r.scope === scope && !r.stream.startsWith('_'))
        .map((r) => r.stream)
        .sort();
    });
    for (const s of list) yield { scope, stream: s };
  }

  async sealStream(stream: StreamId): Promise<void> {
    return this.run(() => {
      const rec = this.stream(stream);
      if (rec.sealed) return;
      const key = streamKey(stream);
      const ops: Op[] = [];
      // open transactions are aborted, as Pravega's seal does
      for (const txn of this.state.txns.values()) {
        if (txn.stream === key && txn.status === 'open') ops.push(...this.abortOps(rec, txn));
      }
      for (const s of lastEpoch(rec).segments) {
        const name = segmentName(rec.scope, rec.stream, s.id);
        if (this.state.segments.get(name)?.sealed === false) ops.push({ op: 'seal', name });
      }
      ops.push({ op: 'stream', key, value: { ...rec, sealed: true } });
      void this.queue({ op: 'batch', ops });
    });
  }

  async deleteStream(stream: StreamId): Promise<boolean> {
    return this.run(() => {
      const key = streamKey(stream);
      const rec = this.state.streams.get(key);
      if (rec === undefined) return false;
      if (!rec.sealed) {
        throw new TributaryError(
          'STREAM_NOT_SEALED',
          `stream ${key} must be sealed before it is deleted`,
          { details: { scope: stream.scope, stream: stream.stream } },
        );
      }
      const ops: Op[] = [];
      const prefix = `${rec.scope}/${rec.stream}/`;
      for (const name of this.state.segments.keys()) {
        if (name.startsWith(prefix)) ops.push({ op: 'delete', name });
      }
      for (const txn of this.state.txns.values()) {
        if (txn.stream === key) ops.push({ op: 'txn', txnId: txn.txnId, value: null });
      }
      ops.push({ op: 'floor', key, next: rec.nextNumber });
      ops.push({ op: 'stream', key, value: null });
      void this.queue({ op: 'batch', ops });
      return true;
    });
  }

  async truncateStream(stream: StreamId, cut: StreamCutPositions): Promise<void> {
    return this.run(() => {
      const rec = this.stream(stream);
      const ops = this.truncateOps(rec, cut);
      void this.queue({ op: 'batch', ops });
    });
  }

  /** Checks a cut and gives the operations that truncate the stream at it. */
  private truncateOps(rec: StreamRecord, cut: StreamCutPositions): Op[] {
    const ranges = segmentRanges(rec);
    const name = `${rec.scope}/${rec.stream}`;
    const cutSegs: EpochSegment[] = [];
    for (const [id, offset] of cut) {
      const r = ranges.get(id);
      if (r === undefined) {
        throw new TributaryError('ILLEGAL_ARGUMENT', `segment ${id} is not part of stream ${name}`);
      }
      const seg = this.state.segments.get(segmentName(rec.scope, rec.stream, id));
      if (seg === undefined) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `segment ${id} of the cut no longer exists: the stream is truncated beyond it`,
        );
      }
      if (offset < 0n || offset > BigInt(seg.length)) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `offset ${offset} is outside segment ${id} (length ${seg.length})`,
        );
      }
      cutSegs.push(r);
    }
    checkCovers(cutSegs, name);
    const ops: Op[] = [];
    for (const [id, offset] of cut) {
      const segName = segmentName(rec.scope, rec.stream, id);
      const seg = this.state.segments.get(segName);
      if (seg !== undefined && Number(offset) > seg.startOffset) {
        ops.push({ op: 'truncate', name: segName, offset: Number(offset) });
      }
    }
    for (const r of ranges.values()) {
      if (cut.has(r.id) || !isBefore(r, cutSegs)) continue;
      const segName = segmentName(rec.scope, rec.stream, r.id);
      if (this.state.segments.has(segName)) ops.push({ op: 'delete', name: segName });
    }
    const head = [...cut].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    ops.push({ op: 'stream', key: `${rec.scope}/${rec.stream}`, value: { ...rec, head } });
    return ops;
  }

  async getCurrentSegments(stream: StreamId): Promise<SegmentWithRange[]> {
    return this.run(() => {
      const rec = this.stream(stream);
      if (rec.sealed) return [];
      return lastEpoch(rec).segments.map((s) => withRange(rec, s));
    });
  }

  async getHeadSegments(stream: StreamId): Promise<Map<bigint, bigint>> {
    return this.run(() => new Map(this.stream(stream).head.map(([id, off]) => [id, off])));
  }

  async getEpochSegments(stream: StreamId, epoch: number): Promise<SegmentWithRange[]> {
    return this.run(() => {
      const rec = this.stream(stream);
      const e = rec.epochs[epoch];
      if (e === undefined) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `stream ${streamKey(stream)} has no epoch ${epoch}`,
        );
      }
      return e.segments.map((s) => withRange(rec, s));
    });
  }

  async getSuccessors(segment: SegmentId): Promise<Successor[]> {
    return this.run(() => {
      const rec = this.stream(segment);
      const created = epochOf(segment.segmentId);
      const epochs = rec.epochs;
      if (!epochs[created]?.segments.some((s) => s.id === segment.segmentId)) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `segment ${segment.segmentId} is not part of stream ${streamKey(segment)}`,
        );
      }
      for (let e = created + 1; e < epochs.length; e++) {
        const prev = epochs[e - 1];
        const cur = epochs[e];
        if (prev === undefined || cur === undefined) break;
        if (cur.segments.some((s) => s.id === segment.segmentId)) continue;
        // sealed in the transition prev → cur
        const self = prev.segments.find((s) => s.id === segment.segmentId);
        if (self === undefined) break;
        const sealed = prev.segments.filter((s) => !cur.segments.some((c) => c.id === s.id));
        const createdNow = cur.segments.filter((s) => !prev.segments.some((p) => p.id === s.id));
        return createdNow
          .filter((s) => overlaps(s, self))
          .map((s) => ({
            segment: withRange(rec, s),
            predecessors: sealed.filter((p) => overlaps(p, s)).map((p) => p.id),
          }));
      }
      return [];
    });
  }

  async getSegmentsBetween(
    stream: StreamId,
    from: StreamCutPositions,
    to: StreamCutPositions,
  ): Promise<SegmentId[]> {
    return this.run(() => {
      const rec = this.stream(stream);
      const ranges = segmentRanges(rec);
      const name = streamKey(stream);
      const cutOf = (cut: StreamCutPositions): EpochSegment[] => {
        const segs: EpochSegment[] = [];
        for (const id of cut.keys()) {
          const r = ranges.get(id);
          if (r === undefined) {
            throw new TributaryError(
              'ILLEGAL_ARGUMENT',
              `segment ${id} is not part of stream ${name}`,
            );
          }
          segs.push(r);
        }
        checkCovers(segs, name);
        return segs;
      };
      const fromSegs = cutOf(from.size > 0 ? from : new Map(rec.head));
      const toSegs = to.size > 0 ? cutOf(to) : undefined;
      const out: SegmentId[] = [];
      for (const r of ranges.values()) {
        if (!this.state.segments.has(segmentName(rec.scope, rec.stream, r.id))) continue;
        if (!fromSegs.some((c) => c.id === r.id) && isBefore(r, fromSegs)) continue;
        if (toSegs !== undefined && !toSegs.some((c) => c.id === r.id) && isAfter(r, toSegs))
          continue;
        out.push({ scope: stream.scope, stream: stream.stream, segmentId: r.id });
      }
      return out.sort((a, b) => (a.segmentId < b.segmentId ? -1 : 1));
    });
  }

  // ---- scaling ----

  async scale(
    stream: StreamId,
    sealedSegments: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
  ): Promise<ScaleResult> {
    return this.run(() => {
      const rec = this.stream(stream);
      if (rec.sealed) throw streamSealed(stream);
      return this.scaleNow(rec, sealedSegments, newRanges);
    });
  }

  /** Validates and queues a scale (manual or automatic); synchronous. */
  private scaleNow(
    rec: StreamRecord,
    sealedIds: readonly bigint[],
    newRanges: readonly (readonly [number, number])[],
  ): ScaleResult {
    const current = lastEpoch(rec);
    const name = `${rec.scope}/${rec.stream}`;
    const refuse = (why: string): never => {
      throw new TributaryError('SCALE_FAILED', `scale of ${name} refused: ${why}`);
    };
    const sealed: EpochSegment[] = [];
    for (const id of new Set(sealedIds)) {
      const s = current.segments.find((c) => c.id === id);
      if (s === undefined) refuse(`segment ${id} is not one of the current segments`);
      else sealed.push(s);
    }
    if (sealed.length === 0 || newRanges.length === 0)
      refuse('nothing to seal or nothing to create');
    for (const [a, b] of newRanges) {
      if (!(a >= 0 && b <= 1 && a < b)) refuse(`bad key range [${a}, ${b})`);
    }
    const union = (rs: [number, number][]): [number, number][] => {
      const sorted = [...rs].sort((x, y) => x[0] - y[0]);
      const out: [number, number][] = [];
      for (const [a, b] of sorted) {
        const last = out[out.length - 1];
        if (last !== undefined && Math.abs(last[1] - a) < 1e-12) last[1] = b;
        else out.push([a, b]);
      }
      return out;
    };
    const sortedNew = [...newRanges]
      .map(([a, b]): [number, number] => [a, b])
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < sortedNew.length; i++) {
      const prev = sortedNew[i - 1];
      const cur = sortedNew[i];
      if (prev !== undefined && cur !== undefined && cur[0] < prev[1] - 1e-12) {
        refuse('the new key ranges overlap');
      }
    }
    const a = union(sealed.map((s) => [s.minKey, s.maxKey]));
    const b = union(sortedNew);
    const same =
      a.length === b.length &&
      a.every((r, i) => {
        const o = b[i];
        return o !== undefined && Math.abs(o[0] - r[0]) < 1e-12 && Math.abs(o[1] - r[1]) < 1e-12;
      });
    if (!same) refuse('the new key ranges must cover exactly the ranges of the sealed segments');

    const epoch = current.epoch + 1;
    let number = rec.nextNumber;
    const created: EpochSegment[] = sortedNew.map(([minKey, maxKey]) => ({
      id: segmentIdOf(epoch, number++),
      minKey,
      maxKey,
    }));
    const segments = [...current.segments.filter((s) => !sealed.includes(s)), ...created].sort(
      (x, y) => x.minKey - y.minKey,
    );
    const policy = segmentPolicy(rec.config);
    const ops: Op[] = [
      ...created.map((s) => this.createOp(segmentName(rec.scope, rec.stream, s.id), policy)),
      ...sealed.map((s): Op => ({ op: 'seal', name: segmentName(rec.scope, rec.stream, s.id) })),
      {
        op: 'stream',
        key: name,
        value: {
          ...rec,
          epochs: [...rec.epochs, { epoch, createdAt: Date.now(), segments }],
          nextNumber: number,
        },
      },
    ];
    void this.queue({ op: 'batch', ops });
    return { epoch: current.epoch, segments: created.map((s) => withRange(rec, s)) };
  }

  async checkScale(stream: StreamId, epoch: number): Promise<ScaleStatus> {
    return this.run(() => {
      const current = lastEpoch(this.stream(stream)).epoch;
      if (!Number.isInteger(epoch) || epoch < 0 || epoch > current) return 'invalidInput';
      return current > epoch ? 'success' : 'inProgress';
    });
  }

  async getEndpoint(segment: SegmentId): Promise<Endpoint> {
    return this.run(() => {
      this.stream(segment);
      return EMBEDDED_ENDPOINT;
    });
  }

  async getDelegationToken(stream: StreamId, _access: AccessOperation): Promise<string> {
    return this.run(() => {
      this.stream(stream);
      return '';
    });
  }

  // ---- transactions ----

  async createTransaction(stream: StreamId, leaseMillis: number): Promise<CreatedTxn> {
    const { minLeaseMs, maxLeaseMs, maxExecutionMs } = this.options.transactions;
    if (!Number.isInteger(leaseMillis) || leaseMillis < minLeaseMs || leaseMillis > maxLeaseMs) {
      throw new TributaryError(
        'TXN_LEASE_INVALID',
        `transaction lease ${leaseMillis} ms is outside ${minLeaseMs}..${maxLeaseMs} ms`,
        { details: { leaseMillis, min: minLeaseMs, max: maxLeaseMs } },
      );
    }
    return this.run(() => {
      const rec = this.stream(stream);
      if (rec.sealed) throw streamSealed(stream);
      const current = lastEpoch(rec);
      const rnd = randomBytes(12);
      const msb = (BigInt(current.epoch) << 32n) | BigInt(rnd.readUInt32BE(0));
      const txnId = uuidFromLongs(BigInt.asIntN(64, msb), rnd.readBigInt64BE(4));
      const segments = current.segments.map((s) => ({
        ...s,
        id: segmentIdOf(current.epoch, segmentNumberOf(s.id)),
      }));
      const now = Date.now();
      const txn: TxnRecord = {
        stream: streamKey(stream),
        txnId,
        epoch: current.epoch,
        status: 'open',
        leaseMillis,
        createdAt: now,
        segments: segments.map((s) => s.id),
      };
      const none: SegmentScalePolicy = { type: 'none', targetRate: 0 };
      void this.queue({
        op: 'batch',
        ops: [
          ...segments.map((s) =>
            this.createOp(
              transactionSegmentName(segmentName(rec.scope, rec.stream, s.id), txnId),
              none,
            ),
          ),
          { op: 'txn', txnId, value: txn },
        ],
      });
      this.leases.set(txnId, { deadline: now + leaseMillis, limit: now + maxExecutionMs });
      return {
        txnId,
        segments: segments.map((s) => withRange(rec, s)),
        delegationToken: '',
      };
    });
  }

  private txn(stream: StreamId, txnId: string): [StreamRecord, TxnRecord] {
    const rec = this.stream(stream);
    const txn = this.state.txns.get(txnId.toLowerCase());
    if (txn === undefined || txn.stream !== streamKey(stream)) {
      throw new TributaryError(
        'TXN_NOT_FOUND',
        `transaction ${txnId} on ${streamKey(stream)} is not known`,
        { details: { txnId } },
      );
    }
    return [rec, txn];
  }

  async commitTransaction(stream: StreamId, txnId: string, _writerId?: string): Promise<void> {
    return this.run(() => {
      const [rec, txn] = this.txn(stream, txnId);
      if (txn.status === 'committed') return;
      if (txn.status === 'aborted') {
        throw new TributaryError(
          'TXN_FAILED',
          `commit of transaction ${txnId} on ${streamKey(stream)} failed: it was aborted`,
          { details: { txnId, status: 'aborted' } },
        );
      }
      void this.queue({ op: 'batch', ops: this.commitOps(rec, txn) });
      this.leases.delete(txn.txnId);
    });
  }

  /**
   * The operations of a commit, all in one atomic record. A transaction of the current epoch is
   * merged into the current segments. One of an older epoch is committed the way Pravega rolls
   * transactions: its epoch's segments are duplicated into a new epoch and receive the
   * transaction's data, are sealed, and the current segments are duplicated into the epoch after
   * that; so a reader that follows successors sees what was written before the commit, then the
   * transaction, then what comes after, for every routing key.
   */
  private commitOps(rec: StreamRecord, txn: TxnRecord): Op[] {
    const current = lastEpoch(rec);
    const txnEpoch = rec.epochs[txn.epoch];
    if (txnEpoch === undefined) throw new TributaryError('INTERNAL', `epoch ${txn.epoch} unknown`);
    const key = streamKey(rec);
    const txnSegName = (generalized: bigint): string =>
      transactionSegmentName(segmentName(rec.scope, rec.stream, generalized), txn.txnId);
    const merges = (targets: readonly EpochSegment[]): Op[] =>
      txn.segments.flatMap((generalized): Op[] => {
        const source = txnSegName(generalized);
        const target = targets.find((t) => segmentNumberOf(t.id) === segmentNumberOf(generalized));
        if (target === undefined || !this.state.segments.has(source)) return [];
        return [{ op: 'merge', target: segmentName(rec.scope, rec.stream, target.id), source }];
      });
    const committed: Op = { op: 'txn', txnId: txn.txnId, value: { ...txn, status: 'committed' } };
    if (txn.epoch === current.epoch && !rec.sealed) {
      return [...merges(current.segments), committed];
    }
    const now = Date.now();
    const policy = segmentPolicy(rec.config);
    const dup = (from: EpochRecord, epoch: number): EpochRecord => ({
      epoch,
      createdAt: now,
      segments: from.segments.map((s) => ({ ...s, id: segmentIdOf(epoch, segmentNumberOf(s.id)) })),
    });
    const txnDup = dup(txnEpoch, current.epoch + 1);
    const currentDup = dup(current, current.epoch + 2);
    const ops: Op[] = [];
    for (const s of current.segments) {
      const name = segmentName(rec.scope, rec.stream, s.id);
      if (this.state.segments.get(name)?.sealed === false) ops.push({ op: 'seal', name });
    }
    for (const s of txnDup.segments)
      ops.push(this.createOp(segmentName(rec.scope, rec.stream, s.id), policy));
    ops.push(...merges(txnDup.segments));
    for (const s of txnDup.segments)
      ops.push({ op: 'seal', name: segmentName(rec.scope, rec.stream, s.id) });
    for (const s of currentDup.segments) {
      ops.push(this.createOp(segmentName(rec.scope, rec.stream, s.id), policy));
    }
    ops.push({ op: 'stream', key, value: { ...rec, epochs: [...rec.epochs, txnDup, currentDup] } });
    ops.push(committed);
    return ops;
  }

  async abortTransaction(stream: StreamId, txnId: string): Promise<void> {
    return this.run(() => {
      const [rec, txn] = this.txn(stream, txnId);
      if (txn.status === 'aborted') return;
      if (txn.status === 'committed') {
        throw new TributaryError(
          'TXN_FAILED',
          `abort of transaction ${txnId} on ${streamKey(stream)} failed: it is committed`,
          { details: { txnId, status: 'committed' } },
        );
      }
      void this.queue({ op: 'batch', ops: this.abortOps(rec, txn) });
    });
  }

  private abortOps(rec: StreamRecord, txn: TxnRecord): Op[] {
    this.leases.delete(txn.txnId);
    const ops: Op[] = [];
    for (const generalized of txn.segments) {
      const name = transactionSegmentName(
        segmentName(rec.scope, rec.stream, generalized),
        txn.txnId,
      );
      if (this.state.segments.has(name)) ops.push({ op: 'delete', name });
    }
    ops.push({ op: 'txn', txnId: txn.txnId, value: { ...txn, status: 'aborted' } });
    return ops;
  }

  async pingTransaction(stream: StreamId, txnId: string, leaseMillis: number): Promise<PingStatus> {
    return this.run(() => {
      this.stream(stream);
      const txn = this.state.txns.get(txnId.toLowerCase());
      if (txn === undefined || txn.stream !== streamKey(stream)) return 'unknown';
      if (txn.status === 'committed') return 'committed';
      if (txn.status === 'aborted') return 'aborted';
      if (leaseMillis > this.options.transactions.maxLeaseMs) return 'leaseTooLarge';
      const lease = this.leases.get(txn.txnId);
      if (lease === undefined) return 'unknown';
      const deadline = Date.now() + leaseMillis;
      if (deadline > lease.limit) return 'maxExecutionTimeExceeded';
      lease.deadline = deadline;
      return 'ok';
    });
  }

  async checkTransactionState(stream: StreamId, txnId: string): Promise<TxnState> {
    return this.run(() => {
      this.stream(stream);
      const txn = this.state.txns.get(txnId.toLowerCase());
      if (txn === undefined || txn.stream !== streamKey(stream)) return 'unknown';
      return txn.status;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- background work ----

  /** Aborts transactions whose lease lapsed; forgets completed ones after a day. */
  private expireTransactions(): void {
    if (this.closed || this.core.isClosing || this.core.failed !== undefined) return;
    const now = Date.now();
    const ops: Op[] = [];
    for (const txn of this.state.txns.values()) {
      const rec = this.state.streams.get(txn.stream);
      if (rec === undefined) continue;
      if (txn.status === 'open') {
        const lease = this.leases.get(txn.txnId);
        if (lease !== undefined && lease.deadline < now) {
          this.options.logger?.info?.('embedded Pravega: transaction lease expired, aborting', {
            txnId: txn.txnId,
            stream: txn.stream,
          });
          ops.push(...this.abortOps(rec, txn));
        }
      } else if (txn.createdAt + COMPLETED_TXN_TTL_MS < now) {
        ops.push({ op: 'txn', txnId: txn.txnId, value: null });
      }
    }
    if (ops.length > 0) void this.queue({ op: 'batch', ops });
  }

  /** Measures segment rates and splits or merges segments of auto-scaled streams. */
  private autoScale(): void {
    if (this.closed || this.core.isClosing || this.core.failed !== undefined) return;
    const { windowMs, cooldownMs, checkIntervalMs } = this.options.autoScale;
    const alpha = 1 - Math.exp(-checkIntervalMs / windowMs);
    const now = Date.now();
    for (const rec of [...this.state.streams.values()]) {
      const policy = rec.config.scalingPolicy;
      const current = lastEpoch(rec);
      const rates = current.segments.map((s) => {
        const seg = this.state.segments.get(segmentName(rec.scope, rec.stream, s.id));
        if (seg === undefined) return 0;
        const events = (seg.statEvents * 1000) / checkIntervalMs;
        const kib = (seg.statBytes * 1000) / checkIntervalMs / 1024;
        seg.statEvents = 0;
        seg.statBytes = 0;
        seg.rateEvents += alpha * (events - seg.rateEvents);
        seg.rateBytes += alpha * (kib - seg.rateBytes);
        return policy.type === 'byDataRate' ? seg.rateBytes : seg.rateEvents;
      });
      if (policy.type === 'fixed' || rec.sealed) continue;
      if (now - current.createdAt < cooldownMs) continue;
      const target = policy.targetRate;
      const age = (s: EpochSegment): number => now - (rec.epochs[epochOf(s.id)]?.createdAt ?? 0);
      const hot = current.segments.filter(
        (s, i) => (rates[i] ?? 0) > target && age(s) >= cooldownMs,
      );
      try {
        if (hot.length > 0 && policy.scaleFactor >= 2) {
          const ranges: [number, number][] = [];
          for (const s of hot) {
            const rate = rates[current.segments.indexOf(s)] ?? 0;
            const pieces = Math.min(policy.scaleFactor, Math.max(2, Math.ceil(rate / target)));
            const width = (s.maxKey - s.minKey) / pieces;
            for (let k = 0; k < pieces; k++) {
              const hi = k === pieces - 1 ? s.maxKey : s.minKey + (k + 1) * width;
              ranges.push([s.minKey + k * width, hi]);
            }
          }
          this.scaleNow(
            rec,
            hot.map((s) => s.id),
            ranges,
          );
          continue;
        }
        if (current.segments.length <= policy.minSegments) continue;
        const segs = current.segments; // sorted by minKey
        for (let i = 0; i + 1 < segs.length; i++) {
          const a = segs[i];
          const b = segs[i + 1];
          if (a === undefined || b === undefined) continue;
          const cold = (rates[i] ?? 0) < target / 2 && (rates[i + 1] ?? 0) < target / 2;
          if (
            cold &&
            Math.abs(a.maxKey - b.minKey) < 1e-12 &&
            age(a) >= cooldownMs &&
            age(b) >= cooldownMs
          ) {
            this.scaleNow(rec, [a.id, b.id], [[a.minKey, b.maxKey]]);
            break;
          }
        }
      } catch (err) {
        this.options.logger?.warn('embedded Pravega: auto-scale failed', {
          stream: streamKey(rec),
          error: String(err),
        });
      }
    }
  }

  /** Records a tail cut of every stream with a retention policy and truncates per the policy. */
  private applyRetention(): void {
    if (this.closed || this.core.isClosing || this.core.failed !== undefined) return;
    const now = Date.now();
    for (const rec of [...this.state.streams.values()]) {
      const policy = rec.config.retentionPolicy;
      if (policy === undefined) continue;
      const key = streamKey(rec);
      try {
        const tail: [bigint, bigint][] = lastEpoch(rec).segments.map((s) => [
          s.id,
          BigInt(
            this.state.segments.get(segmentName(rec.scope, rec.stream, s.id))?.durableLength ?? 0,
          ),
        ]);
        let cuts: RetentionCut[] = [...rec.retentionCuts, { time: now, size: 0, positions: tail }];
        let chosen: RetentionCut | undefined;
        for (const c of cuts) {
          const ok =
            policy.type === 'time'
              ? BigInt(now - c.time) >= policy.minMillis
              : BigInt(this.retainedBytes(rec, c)) >= policy.minBytes;
          if (ok) chosen = c;
        }
        let updated: StreamRecord = rec;
        const ops: Op[] = [];
        if (chosen !== undefined && this.isAheadOfHead(rec, chosen)) {
          ops.push(...this.truncateOps(rec, new Map(chosen.positions)));
          const last = ops[ops.length - 1];
          if (last?.op === 'stream' && last.value !== null) updated = last.value;
          ops.pop();
          const at = chosen.time;
          cuts = cuts.filter((c) => c.time > at);
        }
        if (cuts.length > MAX_RETENTION_CUTS) cuts = cuts.slice(cuts.length - MAX_RETENTION_CUTS);
        ops.push({ op: 'stream', key, value: { ...updated, retentionCuts: cuts } });
        void this.queue({ op: 'batch', ops });
      } catch (err) {
        this.options.logger?.warn('embedded Pravega: retention failed', {
          stream: key,
          error: String(err),
        });
      }
    }
  }

  /** Bytes of the stream from the cut to the tail. */
  private retainedBytes(rec: StreamRecord, cut: RetentionCut): number {
    const ranges = segmentRanges(rec);
    const cutSegs = cut.positions.map(([id]) => ranges.get(id)).filter((r) => r !== undefined);
    const offsets = new Map(cut.positions);
    let total = 0;
    for (const r of ranges.values()) {
      const seg = this.state.segments.get(segmentName(rec.scope, rec.stream, r.id));
      if (seg === undefined) continue;
      const off = offsets.get(r.id);
      if (off !== undefined) total += seg.durableLength - Number(off);
      else if (!isBefore(r, cutSegs)) total += seg.durableLength - seg.startOffset;
    }
    return total;
  }

  /** True when truncating at the cut would remove something. */
  private isAheadOfHead(rec: StreamRecord, cut: RetentionCut): boolean {
    const head = new Map(rec.head);
    for (const [id, off] of cut.positions) {
      const h = head.get(id);
      if (h === undefined) {
        if (!this.state.segments.has(segmentName(rec.scope, rec.stream, id))) return false;
        return true;
      }
      if (off > h) return true;
    }
    return false;
  }
}

function lastEpoch(rec: StreamRecord): EpochRecord {
  const e = rec.epochs[rec.epochs.length - 1];
  if (e === undefined)
    throw new TributaryError('INTERNAL', `stream ${streamKey(rec)} has no epoch`);
  return e;
}

function withRange(rec: StreamRecord, s: EpochSegment): SegmentWithRange {
  return {
    segment: { scope: rec.scope, stream: rec.stream, segmentId: s.id },
    minKey: s.minKey,
    maxKey: s.maxKey,
  };
}

/** Every segment the stream ever had, by id. */
function segmentRanges(rec: StreamRecord): Map<bigint, EpochSegment> {
  const out = new Map<bigint, EpochSegment>();
  for (const e of rec.epochs) for (const s of e.segments) if (!out.has(s.id)) out.set(s.id, s);
  return out;
}

/** A cut must cover the key space [0, 1) exactly once. */
function checkCovers(segs: readonly EpochSegment[], stream: string): void {
  const sorted = [...segs].sort((a, b) => a.minKey - b.minKey);
  let at = 0;
  for (const s of sorted) {
    if (Math.abs(s.minKey - at) > 1e-12) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `not a valid stream cut of ${stream}: its segments do not cover the key space exactly once (at ${at})`,
      );
    }
    at = s.maxKey;
  }
  if (Math.abs(at - 1) > 1e-12) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `not a valid stream cut of ${stream}: its segments do not cover the key space up to 1`,
    );
  }
}

/** Segment `s` lies wholly before the cut: every cut segment over its keys is younger. */
function isBefore(s: EpochSegment, cut: readonly EpochSegment[]): boolean {
  const over = cut.filter((c) => overlaps(c, s));
  return over.length > 0 && over.every((c) => epochOf(c.id) > epochOf(s.id));
}

/** Segment `s` lies wholly after the cut: every cut segment over its keys is older. */
function isAfter(s: EpochSegment, cut: readonly EpochSegment[]): boolean {
  const over = cut.filter((c) => overlaps(c, s));
  return over.length > 0 && over.every((c) => epochOf(c.id) < epochOf(s.id));
}
