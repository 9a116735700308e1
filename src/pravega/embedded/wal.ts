import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { TributaryError } from '../../errors.js';

/*
 * The write-ahead log: one sequence of records shared by every segment, split into files
 * `log-<n>.wal`. A file starts with a 32-byte header; then records follow back to back:
 *
 *   u32 length      whole record, header included
 *   u32 crc32       of every byte after this field (bytes 8 .. length)
 *   u8  type        1 = segment data, 2 = metadata (JSON)
 *   u8  version     1
 *   u16 reserved    0
 *   u32 seq (high), u32 seq (low)   record sequence number: 1, 2, 3, … without gaps
 *
 * data record, after the 20-byte header:
 *   u32 segment handle, u64 segment offset of the data, i64 last event number,
 *   u32 event count, u16 writer id length, writer id (utf-8), then the data bytes verbatim
 * metadata record, after the header: UTF-8 JSON of one operation.
 * relocation record (compaction moves live data out of a mostly dead file), after the header:
 *   u32 segment handle, u64 segment offset, u32 old file, u64 old file position, then the data
 */

export const FILE_MAGIC = Buffer.from('TRIBWAL\0', 'latin1');
export const FILE_HEADER_SIZE = 32;
export const RECORD_HEADER_SIZE = 20;
export const DATA_FIXED_SIZE = 30;
export const TYPE_DATA = 1;
export const TYPE_META = 2;
export const TYPE_RELOCATE = 3;
export const RELOCATE_FIXED_SIZE = 24;
const FORMAT_VERSION = 1;
/** a record longer than this is taken for garbage */
export const MAX_RECORD_SIZE = 1024 * 1024 * 1024;

export function logFileName(fileNo: number): string {
  return `log-${String(fileNo).padStart(10, '0')}.wal`;
}

export function parseLogFileName(name: string): number | undefined {
  const m = /^log-(\d{10})\.wal$/.exec(name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export function encodeFileHeader(fileNo: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER_SIZE);
  FILE_MAGIC.copy(b, 0);
  b.writeUInt32BE(FORMAT_VERSION, 8);
  b.writeUInt32BE(fileNo, 12);
  b.writeUInt32BE(crc32(b.subarray(0, 16)), 16);
  return b;
}

function writeSeq(b: Buffer, seq: number): void {
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 12);
  b.writeUInt32BE(seq >>> 0, 16);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4);
}

/**
 * The header (everything up to the data) of a data record; the crc covers the data too.
 *
 * The crc of the data is computed here, on the store's thread (~11 % of the main thread's CPU in an
 * exactly-once job; this Node's zlib has no SIMD crc32). A worker thread does not make it cheaper
 * (tried for issue 16, measured with `perf`): the worker can only read shared memory, and copying
 * the data into a SharedArrayBuffer ring cost the main thread 8.4 % of its CPU, nearly what the crc
 * cost. Having the client frame events straight into shared memory avoids the copy, but V8 does not
 * count SharedArrayBuffers as external memory pressure, so slabs were collected late and the job's
 * peak buffers grew from 72–107 to 137–263 MiB.
 */
export function encodeDataHeader(
  seq: number,
  handle: number,
  offset: number,
  eventNumber: bigint,
  eventCount: number,
  writer: Buffer,
  data: Buffer,
): Buffer {
  const headerLen = RECORD_HEADER_SIZE + DATA_FIXED_SIZE + writer.length;
  const b = Buffer.allocUnsafe(headerLen);
  b.writeUInt32BE(headerLen + data.length, 0);
  b.writeUInt8(TYPE_DATA, 8);
  b.writeUInt8(FORMAT_VERSION, 9);
  b.writeUInt16BE(0, 10);
  writeSeq(b, seq);
  b.writeUInt32BE(handle, 20);
  b.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), 24);
  b.writeUInt32BE(offset >>> 0, 28);
  b.writeBigInt64BE(eventNumber, 32);
  b.writeUInt32BE(eventCount, 40);
  b.writeUInt16BE(writer.length, 44);
  writer.copy(b, 46);
  b.writeUInt32BE(crc32(data, crc32(b.subarray(8))), 4);
  return b;
}

export function encodeMetaRecord(seq: number, json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const b = Buffer.allocUnsafe(RECORD_HEADER_SIZE + body.length);
  b.writeUInt32BE(b.length, 0);
  b.writeUInt8(TYPE_META, 8);
  b.writeUInt8(FORMAT_VERSION, 9);
  b.writeUInt16BE(0, 10);
  writeSeq(b, seq);
  body.copy(b, RECORD_HEADER_SIZE);
  b.writeUInt32BE(crc32(b.subarray(8)), 4);
  return b;
}

/** The header of a relocation record; the crc covers the data too. */
export function encodeRelocateHeader(
  seq: number,
  handle: number,
  offset: number,
  oldFile: number,
  oldPos: number,
  data: Buffer,
): Buffer {
  const headerLen = RECORD_HEADER_SIZE + RELOCATE_FIXED_SIZE;
  const b = Buffer.allocUnsafe(headerLen);
  b.writeUInt32BE(headerLen + data.length, 0);
  b.writeUInt8(TYPE_RELOCATE, 8);
  b.writeUInt8(FORMAT_VERSION, 9);
  b.writeUInt16BE(0, 10);
  writeSeq(b, seq);
  b.writeUInt32BE(handle, 20);
  b.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), 24);
  b.writeUInt32BE(offset >>> 0, 28);
  b.writeUInt32BE(oldFile, 32);
  b.writeUInt32BE(Math.floor(oldPos / 0x1_0000_0000), 36);
  b.writeUInt32BE(oldPos >>> 0, 40);
  b.writeUInt32BE(crc32(data, crc32(b.subarray(8))), 4);
  return b;
}

export function dataRecordSize(writer: Buffer, data: Buffer): number {
  return RECORD_HEADER_SIZE + DATA_FIXED_SIZE + writer.length + data.length;
}

// ---------------------------------------------------------------------------------------------
// scanning (recovery)

export interface DataRecord {
  readonly type: typeof TYPE_DATA;
  readonly seq: number;
  readonly handle: number;
  readonly offset: number;
  readonly eventNumber: bigint;
  readonly eventCount: number;
  readonly writer: string;
  /** position of the data bytes in the file */
  readonly dataPos: number;
  readonly dataLength: number;
}

export interface RelocateRecord {
  readonly type: typeof TYPE_RELOCATE;
  readonly seq: number;
  readonly handle: number;
  readonly offset: number;
  readonly oldFile: number;
  readonly oldPos: number;
  readonly dataPos: number;
  readonly dataLength: number;
}

export interface MetaRecord {
  readonly type: typeof TYPE_META;
  readonly seq: number;
  readonly json: string;
}

export interface ScanResult {
  /** end of the last valid record */
  readonly validEnd: number;
  readonly fileSize: number;
  /** why the bytes after validEnd are not records (undefined: the file ends cleanly) */
  readonly problem?: string;
  readonly records: number;
}

/**
 * Reads the records of one log file from `from` on, checking each checksum, and hands them to
 * `onRecord` in order. Stops at the first record that is torn or corrupt and says why.
 */
export async function scanLogFile(
  path: string,
  fileNo: number,
  from: number,
  onRecord: (rec: DataRecord | MetaRecord | RelocateRecord) => void,
): Promise<ScanResult> {
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize < FILE_HEADER_SIZE) {
      return { validEnd: 0, fileSize, problem: 'file header is torn', records: 0 };
    }
    const header = Buffer.alloc(FILE_HEADER_SIZE);
    await fh.read(header, 0, FILE_HEADER_SIZE, 0);
    if (!header.subarray(0, 8).equals(FILE_MAGIC)) {
      return { validEnd: 0, fileSize, problem: 'not a log file (bad magic)', records: 0 };
    }
    if (header.readUInt32BE(16) !== crc32(header.subarray(0, 16))) {
      return { validEnd: 0, fileSize, problem: 'file header checksum mismatch', records: 0 };
    }
    if (header.readUInt32BE(8) !== FORMAT_VERSION || header.readUInt32BE(12) !== fileNo) {
      return {
        validEnd: 0,
        fileSize,
        problem: `file header says version ${header.readUInt32BE(8)} file ${header.readUInt32BE(12)}`,
        records: 0,
      };
    }
    let pos = Math.max(from, FILE_HEADER_SIZE);
    let buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    let bufStart = pos;
    let bufLen = 0;
    let records = 0;
    const fill = async (at: number, need: number): Promise<void> => {
      if (need > buf.length) buf = Buffer.allocUnsafe(need);
      const want = Math.min(buf.length, fileSize - at);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      bufStart = at;
      bufLen = got;
    };
    while (pos < fileSize) {
      if (fileSize - pos < RECORD_HEADER_SIZE) {
        return { validEnd: pos, fileSize, problem: 'torn record header', records };
      }
      if (pos + RECORD_HEADER_SIZE > bufStart + bufLen) await fill(pos, RECORD_HEADER_SIZE);
      let rel = pos - bufStart;
      const length = buf.readUInt32BE(rel);
      if (length < RECORD_HEADER_SIZE || length > MAX_RECORD_SIZE) {
        return { validEnd: pos, fileSize, problem: `bad record length ${length}`, records };
      }
      if (pos + length > fileSize) {
        return { validEnd: pos, fileSize, problem: 'torn record', records };
      }
      if (pos + length > bufStart + bufLen) {
        await fill(pos, length);
        rel = 0;
      }
      const rec = buf.subarray(rel, rel + length);
      if (rec.readUInt32BE(4) !== crc32(rec.subarray(8))) {
        return { validEnd: pos, fileSize, problem: 'record checksum mismatch', records };
      }
      const type = rec.readUInt8(8);
      const seq = readU64(rec, 12);
      if (type === TYPE_DATA && length >= RECORD_HEADER_SIZE + DATA_FIXED_SIZE) {
        const writerLen = rec.readUInt16BE(44);
        const dataAt = RECORD_HEADER_SIZE + DATA_FIXED_SIZE + writerLen;
        if (dataAt > length) {
          return { validEnd: pos, fileSize, problem: 'bad data record', records };
        }
        onRecord({
          type: TYPE_DATA,
          seq,
          handle: rec.readUInt32BE(20),
          offset: readU64(rec, 24),
          eventNumber: rec.readBigInt64BE(32),
          eventCount: rec.readUInt32BE(40),
          writer: rec.toString('utf8', 46, 46 + writerLen),
          dataPos: pos + dataAt,
          dataLength: length - dataAt,
        });
      } else if (type === TYPE_META) {
        onRecord({ type: TYPE_META, seq, json: rec.toString('utf8', RECORD_HEADER_SIZE) });
      } else if (type === TYPE_RELOCATE && length >= RECORD_HEADER_SIZE + RELOCATE_FIXED_SIZE) {
        const dataAt = RECORD_HEADER_SIZE + RELOCATE_FIXED_SIZE;
        onRecord({
          type: TYPE_RELOCATE,
          seq,
          handle: rec.readUInt32BE(20),
          offset: readU64(rec, 24),
          oldFile: rec.readUInt32BE(32),
          oldPos: readU64(rec, 36),
          dataPos: pos + dataAt,
          dataLength: length - dataAt,
        });
      } else {
        return { validEnd: pos, fileSize, problem: `unknown record type ${type}`, records };
      }
      records++;
      pos += length;
    }
    return { validEnd: pos, fileSize, records };
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// writing (group commit)

/** Called once the record is durable (err undefined) or can never be (err set). */
export type DurableCallback = (err: Error | undefined) => void;

interface Item {
  readonly kind: 'record';
  readonly bufs: Buffer[];
  readonly bytes: number;
  readonly seq: number;
  readonly pos: number;
  readonly cb: DurableCallback | undefined;
}

interface Roll {
  readonly kind: 'roll';
  readonly fileNo: number;
}

export interface Placement {
  readonly seq: number;
  readonly fileNo: number;
  /** file position of the record's first byte */
  readonly pos: number;
}

export interface LogWriterOptions {
  readonly dir: string;
  readonly fsync: boolean;
  readonly maxFileBytes: number;
  readonly maxBatchBytes: number;
  /** after each group commit (acks are sent from here) */
  readonly afterBatch: () => void;
  /** a new log file was started */
  readonly onRoll: (fileNo: number) => void;
}

/**
 * Appends records to the log with group commit: everything queued while one write + fsync is in
 * progress goes into the next one. Positions and sequence numbers are given out when a record is
 * queued, so the in-memory index can point at data before it is on disk.
 */
export class LogWriter {
  private readonly queue: (Item | Roll)[] = [];
  private running = false;
  private nextSeq: number;
  private durable: number;
  private assignFile: number;
  private assignPos: number;
  private current: { fileNo: number; fh: FileHandle };
  private failure: Error | undefined;
  private waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private idle: (() => void)[] = [];

  private constructor(
    private readonly opts: LogWriterOptions,
    fileNo: number,
    fh: FileHandle,
    lastSeq: number,
  ) {
    this.nextSeq = lastSeq + 1;
    this.durable = lastSeq;
    this.assignFile = fileNo;
    this.assignPos = FILE_HEADER_SIZE;
    this.current = { fileNo, fh };
  }

  /** Starts a fresh log file `fileNo` (header written and synced) after record `lastSeq`. */
  static async start(opts: LogWriterOptions, fileNo: number, lastSeq: number): Promise<LogWriter> {
    const fh = await createLogFile(opts.dir, fileNo, opts.fsync);
    return new LogWriter(opts, fileNo, fh, lastSeq);
  }

  get durableSeq(): number {
    return this.durable;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Where the next record will go (used by snapshots). */
  nextPosition(): { fileNo: number; pos: number } {
    return { fileNo: this.assignFile, pos: this.assignPos };
  }

  get currentFileNo(): number {
    return this.current.fileNo;
  }

  /**
   * Queues one record of `size` bytes; `build` gets its sequence number and returns the buffers.
   * Throws STORE_IO once the log has failed.
   */
  append(
    size: number,
    build: (seq: number) => Buffer[],
    cb: DurableCallback | undefined,
  ): Placement {
    if (this.failure !== undefined) throw this.failure;
    if (this.assignPos + size > this.opts.maxFileBytes && this.assignPos > FILE_HEADER_SIZE) {
      this.assignFile++;
      this.assignPos = FILE_HEADER_SIZE;
      this.queue.push({ kind: 'roll', fileNo: this.assignFile });
    }
    const seq = this.nextSeq++;
    const pos = this.assignPos;
    this.assignPos += size;
    this.queue.push({ kind: 'record', bufs: build(seq), bytes: size, seq, pos, cb });
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.run());
    }
    return { seq, fileNo: this.assignFile, pos };
  }

  /** Resolves once every record queued so far (or up to `seq`) is durable. */
  waitDurable(seq: number = this.nextSeq - 1): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (seq <= this.durable) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  /** Writes out what is queued, then closes the file. */
  async close(): Promise<void> {
    if (this.running) await new Promise<void>((r) => this.idle.push(r));
    await this.current.fh.close().catch(() => undefined);
  }

  /**
   * The group-commit loop. Batch N+1 is written while batch N is being synced, so the copy into
   * the page cache and the device flush overlap; a batch is acknowledged only after its own sync.
   */
  private async run(): Promise<void> {
    let syncing: { done: Promise<void>; batch: Item[] } | undefined;
    let writing: Item[] = [];
    const finishSync = async (): Promise<void> => {
      if (syncing === undefined) return;
      const s = syncing;
      syncing = undefined;
      await s.done;
      this.complete(s.batch);
    };
    try {
      while (this.failure === undefined) {
        const head = this.queue[0];
        if (head === undefined) {
          if (syncing === undefined) break;
          await finishSync();
          continue;
        }
        if (head.kind === 'roll') {
          await finishSync();
          this.queue.shift();
          await this.roll(head.fileNo);
          continue;
        }
        let n = 0;
        let bytes = 0;
        for (const item of this.queue) {
          if (item.kind !== 'record') break;
          if (n > 0 && bytes + item.bytes > this.opts.maxBatchBytes) break;
          bytes += item.bytes;
          n++;
        }
        const batch = this.queue.splice(0, n) as Item[];
        writing = batch;
        await this.writeBatch(batch, bytes);
        await finishSync();
        writing = [];
        const done = this.opts.fsync ? this.current.fh.datasync() : Promise.resolve();
        done.catch(() => undefined); // awaited in finishSync
        syncing = { done, batch };
      }
    } catch (err) {
      // whatever was not acknowledged yet fails with the log: nothing is acked without its sync
      const unacked = [...(syncing?.batch ?? []), ...writing];
      this.fail(err, unacked);
    } finally {
      this.running = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  private complete(batch: Item[]): void {
    const last = batch[batch.length - 1];
    if (last !== undefined) this.durable = last.seq;
    for (const item of batch) item.cb?.(undefined);
    this.opts.afterBatch();
    if (this.waiters.length > 0) {
      const still = [];
      for (const w of this.waiters) {
        if (w.seq <= this.durable) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    }
  }

  private async writeBatch(batch: Item[], bytes: number): Promise<void> {
    const first = batch[0];
    if (first === undefined) return;
    // coalesce small buffers so that one writev carries few, large pieces
    const out: Buffer[] = [];
    let small: Buffer[] = [];
    let smallBytes = 0;
    const flushSmall = (): void => {
      if (small.length === 1 && small[0] !== undefined) out.push(small[0]);
      else if (small.length > 1) out.push(Buffer.concat(small, smallBytes));
      small = [];
      smallBytes = 0;
    };
    for (const item of batch) {
      for (const b of item.bufs) {
        if (b.length >= 64 * 1024) {
          flushSmall();
          out.push(b);
        } else {
          small.push(b);
          smallBytes += b.length;
          if (smallBytes >= 256 * 1024) flushSmall();
        }
      }
    }
    flushSmall();
    let position = first.pos;
    let remaining = out;
    let left = bytes;
    while (left > 0) {
      const { bytesWritten } = await this.current.fh.writev(remaining, position);
      left -= bytesWritten;
      position += bytesWritten;
      if (left > 0) remaining = skipBytes(remaining, bytesWritten);
    }
  }

  private async roll(fileNo: number): Promise<void> {
    const fh = await createLogFile(this.opts.dir, fileNo, this.opts.fsync);
    const old = this.current;
    this.current = { fileNo, fh };
    // the old file stays readable through the store's read handles
    await old.fh.close();
    this.opts.onRoll(fileNo);
  }

  private fail(err: unknown, unacked: Item[]): void {
    const failure = TributaryError.is(err)
      ? err
      : new TributaryError('STORE_IO', `writing the log failed: ${String(err)}`, { cause: err });
    this.failure = failure;
    for (const item of unacked) item.cb?.(failure);
    for (const item of this.queue.splice(0)) if (item.kind === 'record') item.cb?.(failure);
    for (const w of this.waiters.splice(0)) w.reject(failure);
    this.opts.afterBatch();
  }
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

async function createLogFile(dir: string, fileNo: number, sync: boolean): Promise<FileHandle> {
  const fh = await open(join(dir, logFileName(fileNo)), 'wx+');
  try {
    await fh.write(encodeFileHeader(fileNo), 0, FILE_HEADER_SIZE, 0);
    if (sync) {
      await fh.datasync();
      await syncDir(dir);
    }
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Whether a valid record numbered `seq` lies in the file after `from`: tells damage in the middle
 * of the log (records follow) from a torn or corrupt tail (nothing follows).
 */
export async function findRecord(path: string, from: number, seq: number): Promise<boolean> {
  const pattern = Buffer.alloc(8);
  pattern.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 0);
  pattern.writeUInt32BE(seq >>> 0, 4);
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let at = from; at < size; at += chunk.length - 64) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, at);
      const view = chunk.subarray(0, bytesRead);
      for (let i = view.indexOf(pattern, 12); i >= 0; i = view.indexOf(pattern, i + 1)) {
        const start = at + i - 12;
        if (start < from) continue;
        const head = Buffer.alloc(RECORD_HEADER_SIZE);
        await fh.read(head, 0, RECORD_HEADER_SIZE, start);
        const length = head.readUInt32BE(0);
        if (length < RECORD_HEADER_SIZE || length > MAX_RECORD_SIZE || start + length > size)
          continue;
        const rec = Buffer.allocUnsafe(length);
        await fh.read(rec, 0, length, start);
        if (rec.readUInt32BE(4) === crc32(rec.subarray(8))) return true;
      }
      if (bytesRead < chunk.length) break;
    }
    return false;
  } finally {
    await fh.close();
  }
}
