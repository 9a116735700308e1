import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { TributaryError } from '../../errors.js';
import type { EmbeddedOptions } from './options.js';
import type { Extent, Op, SegmentState } from './state.js';
import { StateError, StoreState, fromJson, toJson } from './state.js';
import type { DurableCallback } from './wal.js';
import {
  FILE_HEADER_SIZE,
  LogWriter,
  RECORD_HEADER_SIZE,
  RELOCATE_FIXED_SIZE,
  TYPE_DATA,
  TYPE_RELOCATE,
  dataRecordSize,
  encodeRelocateHeader,
  encodeDataHeader,
  encodeMetaRecord,
  findRecord,
  logFileName,
  parseLogFileName,
  scanLogFile,
  syncDir,
} from './wal.js';

export const FORMAT_FILE = 'FORMAT';
const FORMAT_NAME = 'tributary-embedded-pravega';
const FORMAT_VERSION = 1;
const SNAPSHOT_MAGIC = 'TRIBSNAP1';
/** the largest metadata record (a table update, a commit of many segments, …) */
const MAX_META_RECORD = 256 * 1024 * 1024;
/** the most a read returns at once */
const MAX_READ = 16 * 1024 * 1024;

/** What opening the directory found and did. */
export interface RecoveryReport {
  /** true when the directory was empty and has just been set up */
  readonly created: boolean;
  /** sequence number of the snapshot recovery started from */
  readonly snapshotSeq: number;
  /** log records replayed over the snapshot */
  readonly replayedRecords: number;
  /** sequence number of the last record kept */
  readonly lastSeq: number;
  /** set when a torn or corrupt tail was cut off the log */
  readonly truncatedTail?: {
    readonly file: string;
    readonly position: number;
    readonly discardedBytes: number;
    readonly reason: string;
  };
  readonly segments: number;
  readonly streams: number;
  readonly durationMs: number;
}

interface ReadHandle {
  fh: Promise<FileHandle>;
  users: number;
}

function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(16, '0')}.snap`;
}

function parseSnapshotName(name: string): number | undefined {
  const m = /^snapshot-(\d{16})\.snap$/.exec(name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function corrupt(dir: string, why: string, cause?: unknown): TributaryError {
  return new TributaryError(
    'STORE_CORRUPT',
    `embedded Pravega directory ${dir} is corrupt: ${why}`,
    {
      cause,
      details: { dir },
    },
  );
}

/**
 * The storage engine behind the embedded controller and segment store: the state, the log it is
 * made durable by, snapshots, recovery, reads.
 */
export class EmbeddedCore {
  state: StoreState;
  private writer!: LogWriter;
  private readonly readHandles = new Map<number, ReadHandle>();
  private readonly logFiles = new Set<number>();
  private lastMetaSeq = 0;
  private closing = false;
  private snapshotRunning: Promise<void> | undefined;
  private snapshotWanted = false;
  private compacting: Promise<void> | undefined;
  /** old log files whose live data compaction has moved (for tests and diagnostics) */
  compactedFiles = 0;
  /** sessions with acks to send after the current group commit */
  readonly dirtySessions = new Set<{ flushAck(): void }>();
  private readonly timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly dir: string,
    readonly options: EmbeddedOptions,
    state: StoreState,
  ) {
    this.state = state;
  }

  static async open(
    dir: string,
    options: EmbeddedOptions,
  ): Promise<{ core: EmbeddedCore; report: RecoveryReport }> {
    const started = Date.now();
    const entries = (await readdir(dir)).filter((n) => n !== 'LOCK');
    let created = false;
    if (!entries.includes(FORMAT_FILE)) {
      const foreign = entries.filter((n) => !n.endsWith('.tmp'));
      if (foreign.length > 0) {
        throw corrupt(
          dir,
          `it is not an embedded Pravega directory (no ${FORMAT_FILE} file, but ${foreign.length} other entries such as ${JSON.stringify(foreign[0])}); refusing to touch it`,
        );
      }
      await initDirectory(dir, options.fsync);
      created = true;
    } else {
      await checkFormat(dir);
    }
    const names = created ? await readdir(dir) : entries;
    const snapshots = names
      .map(parseSnapshotName)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    const latest = snapshots[snapshots.length - 1];
    if (latest === undefined) throw corrupt(dir, 'no snapshot file found');
    const snap = await loadSnapshot(dir, latest);
    const core = new EmbeddedCore(dir, options, snap.state);
    const logs = names
      .map(parseLogFileName)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    for (const n of logs) core.logFiles.add(n);
    const replay = await core.replay(logs, snap.seq, snap.fileNo, snap.pos);
    for (const seg of core.state.segments.values()) seg.durableLength = seg.length;
    for (const fileNo of core.state.fileRefs.keys()) {
      if (!core.logFiles.has(fileNo)) {
        throw corrupt(dir, `log file ${logFileName(fileNo)}, which holds segment data, is missing`);
      }
    }
    const lastFile = logs[logs.length - 1] ?? snap.fileNo - 1;
    core.writer = await LogWriter.start(
      {
        dir,
        fsync: options.fsync,
        maxFileBytes: options.maxLogFileBytes,
        maxBatchBytes: options.maxBatchBytes,
        afterBatch: () => core.afterBatch(),
        onRoll: (fileNo) => core.onRoll(fileNo),
      },
      Math.max(lastFile + 1, snap.fileNo),
      replay.lastSeq,
    );
    core.logFiles.add(core.writer.currentFileNo);
    const report: RecoveryReport = {
      created,
      snapshotSeq: snap.seq,
      replayedRecords: replay.records,
      lastSeq: replay.lastSeq,
      ...(replay.truncatedTail === undefined ? {} : { truncatedTail: replay.truncatedTail }),
      segments: core.state.segments.size,
      streams: core.state.streams.size,
      durationMs: Date.now() - started,
    };
    if (report.truncatedTail !== undefined) {
      options.logger?.warn('embedded Pravega: cut a torn or corrupt tail off the log', {
        dir,
        ...report.truncatedTail,
      });
    }
    options.logger?.info?.('embedded Pravega: opened', { dir, ...report });
    if (replay.records > 0) core.requestSnapshot();
    return { core, report };
  }

  private async replay(
    logs: number[],
    snapSeq: number,
    fromFile: number,
    fromPos: number,
  ): Promise<{
    records: number;
    lastSeq: number;
    truncatedTail?: RecoveryReport['truncatedTail'];
  }> {
    let expected = snapSeq + 1;
    let records = 0;
    const toScan = logs.filter((n) => n >= fromFile);
    if (toScan.length === 0 && fromPos > FILE_HEADER_SIZE) {
      throw corrupt(this.dir, `log file ${logFileName(fromFile)} named by the snapshot is missing`);
    }
    if (toScan.length > 0 && toScan[0] !== fromFile) {
      throw corrupt(this.dir, `log file ${logFileName(fromFile)} named by the snapshot is missing`);
    }
    for (let i = 0; i < toScan.length; i++) {
      const fileNo = toScan[i] ?? 0;
      const path = join(this.dir, logFileName(fileNo));
      let failure: Error | undefined;
      const result = await scanLogFile(path, fileNo, fileNo === fromFile ? fromPos : 0, (rec) => {
        if (failure !== undefined) return;
        try {
          if (rec.seq !== expected) {
            throw new StateError(`record ${rec.seq} where ${expected} was expected`);
          }
          if (rec.type === TYPE_DATA) {
            this.state.applyData(
              rec.handle,
              rec.offset,
              rec.writer,
              rec.eventNumber,
              rec.seq,
              fileNo,
              rec.dataPos,
              rec.dataLength,
            );
          } else if (rec.type === TYPE_RELOCATE) {
            this.state.applyRelocate(
              rec.handle,
              rec.offset,
              rec.oldFile,
              rec.oldPos,
              rec.dataLength,
              fileNo,
              rec.dataPos,
            );
          } else {
            this.state.applyOp(fromJson(rec.json) as Op, rec.seq, undefined);
          }
          expected++;
          records++;
        } catch (err) {
          failure = err as Error;
        }
      });
      if (failure !== undefined) {
        throw corrupt(
          this.dir,
          `${logFileName(fileNo)}: the log contradicts itself: ${failure.message}`,
          failure,
        );
      }
      if (result.problem !== undefined) {
        // a torn or corrupt record: fine at the tail, fatal if valid records come after it
        if (await findRecord(path, result.validEnd + 1, expected + 1)) {
          throw corrupt(
            this.dir,
            `${logFileName(fileNo)} is damaged at byte ${result.validEnd} (${result.problem}) but valid records follow: acknowledged data would be lost`,
          );
        }
        for (const later of toScan.slice(i + 1)) {
          const probe = await scanLogFile(join(this.dir, logFileName(later)), later, 0, () => {});
          if (probe.records > 0) {
            throw corrupt(
              this.dir,
              `${logFileName(fileNo)} is damaged at byte ${result.validEnd} (${result.problem}) but valid records follow in later log files: acknowledged data would be lost`,
            );
          }
        }
        if (fileNo === fromFile && result.validEnd < fromPos) {
          throw corrupt(this.dir, `${logFileName(fileNo)} is shorter than the snapshot says`);
        }
        const cutAt = result.validEnd < FILE_HEADER_SIZE ? 0 : result.validEnd;
        let discarded = result.fileSize - cutAt;
        if (cutAt === 0) {
          await unlink(path);
          this.logFiles.delete(fileNo);
        } else {
          await truncate(path, cutAt);
        }
        for (const later of toScan.slice(i + 1)) {
          const p = join(this.dir, logFileName(later));
          discarded += (await stat(p)).size;
          await unlink(p);
          this.logFiles.delete(later);
        }
        if (this.options.fsync) await syncDir(this.dir);
        return {
          records,
          lastSeq: expected - 1,
          truncatedTail: {
            file: logFileName(fileNo),
            position: cutAt,
            discardedBytes: discarded,
            reason: result.problem,
          },
        };
      }
    }
    return { records, lastSeq: expected - 1 };
  }

  // -------------------------------------------------------------------------------------------
  // writing

  get failed(): Error | undefined {
    return this.writer.failed;
  }

  checkOpen(): void {
    if (this.closing) throw new TributaryError('CLOSED', 'the embedded Pravega store is closed');
    const failed = this.writer.failed;
    if (failed !== undefined) throw failed;
  }

  /**
   * Applies a metadata operation to the state at once and makes it durable. Visible effects on
   * segments (merged lengths, seals, deletions) are released to readers once it is durable.
   */
  meta(op: Op): Promise<void> {
    this.checkOpen();
    const touched: SegmentState[] = [];
    const json = toJson(op);
    const size = Buffer.byteLength(json, 'utf8') + RECORD_HEADER_SIZE;
    if (size > MAX_META_RECORD) {
      return Promise.reject(
        new TributaryError(
          'ILLEGAL_ARGUMENT',
          `one metadata change of ${size} bytes exceeds the limit of ${MAX_META_RECORD} bytes (e.g. a table update too large)`,
        ),
      );
    }
    let lengths: [SegmentState, number][] = [];
    return new Promise<void>((resolve, reject) => {
      const placement = this.writer.append(
        size,
        (seq) => [encodeMetaRecord(seq, json)],
        (err) => {
          if (err !== undefined) {
            reject(err);
            return;
          }
          for (const [seg, len] of lengths) {
            if (len > seg.durableLength) seg.durableLength = len;
            seg.wakeAll();
          }
          resolve();
        },
      );
      this.lastMetaSeq = placement.seq;
      try {
        this.state.applyOp(op, placement.seq, touched);
      } catch (err) {
        // a bug: the operation was validated before; the store can no longer be trusted
        throw new TributaryError('INTERNAL', `embedded store state update failed: ${String(err)}`, {
          cause: err,
        });
      }
      lengths = touched.map((s) => [s, s.length]);
    });
  }

  /** Queues a data append; `cb` runs once it is durable. */
  appendData(
    seg: SegmentState,
    writer: string,
    writerBytes: Buffer,
    eventNumber: bigint,
    eventCount: number,
    data: Buffer,
    cb: DurableCallback,
  ): number {
    const size = dataRecordSize(writerBytes, data);
    const offset = seg.length;
    const end = offset + data.length;
    const placement = this.writer.append(
      size,
      (seq) => [
        encodeDataHeader(seq, seg.handle, offset, eventNumber, eventCount, writerBytes, data),
        data,
      ],
      (err) => {
        if (err === undefined) {
          if (end > seg.durableLength) seg.durableLength = end;
          seg.statEvents += eventCount;
          seg.statBytes += data.length;
          if (seg.waiters.length > 0) seg.wakeAll();
        }
        cb(err);
      },
    );
    this.state.applyData(
      seg.handle,
      offset,
      writer,
      eventNumber,
      placement.seq,
      placement.fileNo,
      placement.pos + size - data.length,
      data.length,
    );
    return placement.seq;
  }

  /** Resolves once every metadata change made so far is durable. */
  settled(): Promise<void> {
    return this.writer.waitDurable(this.lastMetaSeq);
  }

  /** Resolves once everything queued so far (data included) is durable, or up to `seq`. */
  durable(seq?: number): Promise<void> {
    return this.writer.waitDurable(seq);
  }

  get durableSeq(): number {
    return this.writer.durableSeq;
  }

  private afterBatch(): void {
    if (this.dirtySessions.size === 0) return;
    const sessions = [...this.dirtySessions];
    this.dirtySessions.clear();
    for (const s of sessions) s.flushAck();
  }

  // -------------------------------------------------------------------------------------------
  // reading

  /**
   * Reads up to `length` durable bytes of `seg` from `offset` (which must be below its durable
   * length and at or above its start offset).
   */
  async readBytes(seg: SegmentState, offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + Math.min(length, MAX_READ), seg.durableLength);
    const ext = seg.extents;
    // first extent whose end is past offset
    let lo = 0;
    let hi = ext.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = ext[mid];
      if (e !== undefined && e.o + e.l <= offset) lo = mid + 1;
      else hi = mid;
    }
    const pieces: { f: number; p: number; l: number; at: number }[] = [];
    let pos = offset;
    for (let i = lo; i < ext.length && pos < end; i++) {
      const e = ext[i];
      if (e === undefined || e.o > pos) break;
      const from = pos - e.o;
      const n = Math.min(e.l - from, end - pos);
      if (n <= 0) continue;
      pieces.push({ f: e.f, p: e.p + from, l: n, at: pos - offset });
      pos += n;
    }
    if (pos < end) {
      throw new TributaryError(
        'STORE_CORRUPT',
        `segment ${seg.name}: no stored data for bytes ${pos}..${end}`,
      );
    }
    const out = Buffer.allocUnsafe(end - offset);
    const files = [...new Set(pieces.map((p) => p.f))];
    for (const f of files) this.useFile(f);
    try {
      await Promise.all(
        pieces.map(async (piece) => {
          const fh = await this.fileHandle(piece.f);
          let got = 0;
          while (got < piece.l) {
            const { bytesRead } = await fh.read(out, piece.at + got, piece.l - got, piece.p + got);
            if (bytesRead === 0) {
              throw new TributaryError(
                'STORE_CORRUPT',
                `log file ${logFileName(piece.f)} ends before the data of ${seg.name}`,
              );
            }
            got += bytesRead;
          }
        }),
      );
    } finally {
      for (const f of files) this.releaseFile(f);
    }
    return out;
  }

  private useFile(fileNo: number): void {
    let h = this.readHandles.get(fileNo);
    if (h === undefined) {
      const fh = open(join(this.dir, logFileName(fileNo)), 'r');
      fh.catch(() => undefined);
      h = { fh, users: 0 };
      this.readHandles.set(fileNo, h);
    }
    h.users++;
  }

  private fileHandle(fileNo: number): Promise<FileHandle> {
    const h = this.readHandles.get(fileNo);
    if (h === undefined) throw new TributaryError('INTERNAL', `file ${fileNo} not in use`);
    return h.fh;
  }

  private releaseFile(fileNo: number): void {
    const h = this.readHandles.get(fileNo);
    if (h !== undefined) h.users--;
  }

  // -------------------------------------------------------------------------------------------
  // snapshots and clean-up

  private onRoll(fileNo: number): void {
    this.logFiles.add(fileNo);
    this.requestSnapshot();
  }

  /** Writes a snapshot soon (one at a time), then deletes what it makes unnecessary. */
  requestSnapshot(): void {
    if (this.closing) return;
    if (this.snapshotRunning !== undefined) {
      this.snapshotWanted = true;
      return;
    }
    this.snapshotRunning = this.writeSnapshot()
      .catch((err: unknown) => {
        this.options.logger?.warn('embedded Pravega: snapshot failed', { error: String(err) });
      })
      .finally(() => {
        this.snapshotRunning = undefined;
        if (this.snapshotWanted && !this.closing) {
          this.snapshotWanted = false;
          this.requestSnapshot();
        }
      });
  }

  private async writeSnapshot(): Promise<void> {
    const seq = this.writer.lastSeq;
    const from = this.writer.nextPosition();
    const body = toJson({
      seq,
      fileNo: from.fileNo,
      pos: from.pos,
      state: this.state.toSnapshot(),
    });
    // the files the snapshot's state points into: they must stay even if the live state moves on
    const snapshotRefs = new Set(this.state.fileRefs.keys());
    await this.writer.waitDurable(seq);
    await writeSnapshotFile(this.dir, seq, body, this.options.fsync);
    // older snapshots and log files that neither replay nor reads need any more
    for (const name of await readdir(this.dir)) {
      const n = parseSnapshotName(name);
      if (n !== undefined && n < seq) await unlink(join(this.dir, name)).catch(() => undefined);
    }
    for (const fileNo of [...this.logFiles].sort((a, b) => a - b)) {
      if (fileNo >= from.fileNo) break;
      if (snapshotRefs.has(fileNo) || (this.state.fileRefs.get(fileNo) ?? 0) > 0) continue;
      const h = this.readHandles.get(fileNo);
      if (h !== undefined) {
        if (h.users > 0) continue;
        this.readHandles.delete(fileNo);
        await (await h.fh.catch(() => undefined))?.close().catch(() => undefined);
      }
      await unlink(join(this.dir, logFileName(fileNo))).catch(() => undefined);
      this.logFiles.delete(fileNo);
    }
    if (!this.closing) this.startCompaction(from.fileNo);
  }

  private startCompaction(beforeFile: number): void {
    if (this.compacting !== undefined || this.options.compactLiveRatio <= 0) return;
    this.compacting = this.compact(beforeFile)
      .catch((err: unknown) => {
        this.options.logger?.warn('embedded Pravega: compaction failed', { error: String(err) });
      })
      .finally(() => {
        this.compacting = undefined;
      });
  }

  /**
   * Moves the live data out of old log files that are mostly dead (deleted or truncated
   * segments, aborted transactions), so that the next snapshot can delete those files.
   */
  private async compact(beforeFile: number): Promise<void> {
    const live = new Map<number, number>();
    for (const seg of this.state.segments.values()) {
      for (const e of seg.extents) if (e.f < beforeFile) live.set(e.f, (live.get(e.f) ?? 0) + e.l);
    }
    let moved = 0;
    let movedAny = false;
    for (const [fileNo, liveBytes] of [...live].sort((a, b) => a[0] - b[0])) {
      let size: number;
      try {
        size = (await stat(join(this.dir, logFileName(fileNo)))).size;
      } catch {
        continue;
      }
      if (liveBytes >= size * this.options.compactLiveRatio) continue;
      const items: [SegmentState, Extent][] = [];
      for (const seg of this.state.segments.values()) {
        for (const e of seg.extents) if (e.f === fileNo) items.push([seg, e]);
      }
      for (const [seg, e] of items) {
        if (this.closing || this.writer.failed !== undefined) return;
        const data = Buffer.allocUnsafe(e.l);
        this.useFile(e.f);
        try {
          const fh = await this.fileHandle(e.f);
          let got = 0;
          while (got < e.l) {
            const { bytesRead } = await fh.read(data, got, e.l - got, e.p + got);
            if (bytesRead === 0) throw new Error(`${logFileName(e.f)} ends early`);
            got += bytesRead;
          }
        } finally {
          this.releaseFile(e.f);
        }
        if (this.closing || this.writer.failed !== undefined) return;
        if (this.state.segments.get(seg.name) !== seg || !seg.extents.includes(e)) continue;
        const size = RECORD_HEADER_SIZE + RELOCATE_FIXED_SIZE + data.length;
        const placement = this.writer.append(
          size,
          (seq) => [encodeRelocateHeader(seq, seg.handle, e.o, e.f, e.p, data), data],
          undefined,
        );
        this.state.applyRelocate(
          seg.handle,
          e.o,
          e.f,
          e.p,
          e.l,
          placement.fileNo,
          placement.pos + size - data.length,
        );
        moved += data.length;
        movedAny = true;
        // keep the amount of relocated data queued at a time bounded
        if (moved >= 64 * 1024 * 1024) {
          await this.writer.waitDurable();
          moved = 0;
        }
      }
      this.compactedFiles++;
    }
    if (movedAny) {
      // the next snapshot no longer points into the compacted files and deletes them
      await this.writer.waitDurable();
      this.requestSnapshot();
    }
  }

  /** Log files on disk now (for tests and diagnostics). */
  get logFileNumbers(): number[] {
    return [...this.logFiles].sort((a, b) => a - b);
  }

  addTimer(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    for (const seg of this.state.segments.values()) seg.wakeAll();
    await this.writer.waitDurable().catch(() => undefined);
    await this.snapshotRunning;
    await this.compacting;
    if (this.writer.failed === undefined) {
      // a final snapshot makes the next open fast
      try {
        await this.writeSnapshot();
      } catch (err) {
        this.options.logger?.warn('embedded Pravega: final snapshot failed', {
          error: String(err),
        });
      }
    }
    await this.writer.close();
    for (const h of this.readHandles.values()) {
      await (await h.fh.catch(() => undefined))?.close().catch(() => undefined);
    }
    this.readHandles.clear();
  }
}

// ---------------------------------------------------------------------------------------------

async function initDirectory(dir: string, sync: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  // the first snapshot (empty state) names log file 1 as the start of the log
  const empty = new StoreState();
  await writeSnapshotFile(
    dir,
    0,
    toJson({ seq: 0, fileNo: 1, pos: FILE_HEADER_SIZE, state: empty.toSnapshot() }),
    sync,
  );
  await writeFileDurably(
    dir,
    FORMAT_FILE,
    JSON.stringify({ format: FORMAT_NAME, version: FORMAT_VERSION }) + '\n',
    sync,
  );
}

async function checkFormat(dir: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dir, FORMAT_FILE), 'utf8');
  } catch (err) {
    throw corrupt(dir, `cannot read ${FORMAT_FILE}: ${String(err)}`, err);
  }
  let parsed: { format?: unknown; version?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (err) {
    throw corrupt(dir, `${FORMAT_FILE} is not JSON`, err);
  }
  if (parsed.format !== FORMAT_NAME) {
    throw corrupt(
      dir,
      `${FORMAT_FILE} names format ${JSON.stringify(parsed.format)}, not ${FORMAT_NAME}`,
    );
  }
  if (parsed.version !== FORMAT_VERSION) {
    throw corrupt(
      dir,
      `format version ${JSON.stringify(parsed.version)} is not supported (this build reads ${FORMAT_VERSION})`,
    );
  }
}

async function writeFileDurably(
  dir: string,
  name: string,
  data: string,
  sync: boolean,
): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  if (sync) await syncDir(dir);
}

async function writeSnapshotFile(
  dir: string,
  seq: number,
  body: string,
  sync: boolean,
): Promise<void> {
  const bytes = Buffer.from(body, 'utf8');
  const header = `${SNAPSHOT_MAGIC} ${crc32(bytes).toString(16)} ${bytes.length}\n`;
  await writeFileDurably(dir, snapshotName(seq), header + body, sync);
}

async function loadSnapshot(
  dir: string,
  seq: number,
): Promise<{ seq: number; fileNo: number; pos: number; state: StoreState }> {
  const name = snapshotName(seq);
  const raw = await readFile(join(dir, name));
  const nl = raw.indexOf(10);
  const header = nl < 0 ? '' : raw.toString('latin1', 0, nl);
  const [magic, crcHex, lenText] = header.split(' ');
  const body = raw.subarray(nl + 1);
  if (magic !== SNAPSHOT_MAGIC || lenText === undefined || crcHex === undefined) {
    throw corrupt(dir, `${name} is not a snapshot file`);
  }
  if (Number(lenText) !== body.length || parseInt(crcHex, 16) !== crc32(body)) {
    throw corrupt(dir, `${name} is damaged (length or checksum mismatch)`);
  }
  try {
    const d = fromJson(body.toString('utf8')) as {
      seq: number;
      fileNo: number;
      pos: number;
      state: unknown;
    };
    if (d.seq !== seq) throw new Error(`snapshot file ${name} holds seq ${d.seq}`);
    return { seq, fileNo: d.fileNo, pos: d.pos, state: StoreState.fromSnapshot(d.state) };
  } catch (err) {
    throw corrupt(dir, `${name} cannot be loaded: ${String(err)}`, err);
  }
}
