import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import type { EmbeddedLogger } from '../../../src/pravega/embedded/index.js';
import { openEmbeddedPravega } from '../../../src/pravega/embedded/index.js';
import { parseLogFileName } from '../../../src/pravega/embedded/wal.js';
import { frame, readEvents, recorder, tempDir, eventually } from './helpers.js';

const SEG = 'sc/st/0.#epoch.0';
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

async function failure(p: Promise<unknown>): Promise<TributaryError> {
  try {
    await p;
  } catch (err) {
    if (TributaryError.is(err)) return err;
    throw err;
  }
  throw new Error('expected an error');
}

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => parseLogFileName(n) !== undefined).sort();
}

describe('embedded store durability', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  beforeEach(async () => {
    tmp = await tempDir();
    dir = join(tmp.dir, 'data');
  });
  afterEach(async () => {
    await tmp.cleanup();
  });

  /** Appends `n` events one block each, waits for the acks, then closes the store. */
  async function writeAndClose(n: number): Promise<void> {
    const p = await openEmbeddedPravega(dir);
    await p.segmentStore.createSegment(SEG);
    const rec = recorder();
    const s = await p.segmentStore.openAppendSession(SEG, 'w', rec.handlers);
    for (let i = 1; i <= n; i++) s.append(frame(`event-${i}`), 1, BigInt(i));
    await eventually(() => rec.lastAck() === BigInt(n), 'acks');
    await p.close();
  }

  it('validates options, naming the key and the reason', async () => {
    const err = await failure(openEmbeddedPravega(dir, { autoScale: { windowMs: -1 } }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('autoScale.windowMs');
    const err2 = await failure(
      openEmbeddedPravega(dir, { transactions: { minLeaseMs: 10, maxLeaseMs: 5 } }),
    );
    expect(err2.message).toContain('transactions.minLeaseMs');
    const err3 = await failure(openEmbeddedPravega(dir, { fsnyc: true } as never));
    expect(err3.message).toContain('fsnyc');
  });

  it('shares one store per directory within a process; closing the last handle frees it', async () => {
    const p = await openEmbeddedPravega(dir);
    const q = await openEmbeddedPravega(dir);
    expect(q.segmentStore).toBe(p.segmentStore);
    await p.close();
    // still open through q: the lock file is still there
    expect((await readdir(dir)).includes('LOCK')).toBe(true);
    await q.close();
    expect((await readdir(dir)).includes('LOCK')).toBe(false);
    const again = await openEmbeddedPravega(dir);
    await again.close();
  });

  it('takes over a lock left by a dead process', async () => {
    const p = await openEmbeddedPravega(dir);
    await p.close();
    // a process that has exited: its pid is free
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid ?? 0;
    await new Promise((r) => child.on('exit', r));
    const { hostname } = await import('node:os');
    await writeFile(join(dir, 'LOCK'), JSON.stringify({ pid, host: hostname(), since: 'then' }));
    const q = await openEmbeddedPravega(dir);
    await q.close();
    // a lock held on another host is respected
    await writeFile(
      join(dir, 'LOCK'),
      JSON.stringify({ pid: 1, host: 'elsewhere', since: 'then' }),
    );
    const err = await failure(openEmbeddedPravega(dir));
    expect(err.code).toBe('STORE_LOCKED');
    expect(err.message).toContain('elsewhere');
  });

  it('refuses a foreign directory and a damaged one, without touching them', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'important.txt'), 'not ours');
    const err = await failure(openEmbeddedPravega(dir));
    expect(err.code).toBe('STORE_CORRUPT');
    expect(err.message).toContain('not an embedded Pravega directory');
    expect(await readFile(join(dir, 'important.txt'), 'utf8')).toBe('not ours');
    expect(await readdir(dir)).toEqual(['important.txt']);

    const other = join(tmp.dir, 'other');
    const p = await openEmbeddedPravega(other);
    await p.close();
    await writeFile(join(other, 'FORMAT'), '{"format":"something-else","version":1}');
    expect((await failure(openEmbeddedPravega(other))).code).toBe('STORE_CORRUPT');
    await writeFile(join(other, 'FORMAT'), '{"format":"tributary-embedded-pravega","version":99}');
    expect((await failure(openEmbeddedPravega(other))).message).toContain('version');
  });

  it('refuses a damaged snapshot', async () => {
    await writeAndClose(3);
    const snap = (await readdir(dir)).find((n) => n.startsWith('snapshot-'));
    if (snap === undefined) throw new Error('no snapshot');
    const path = join(dir, snap);
    const bytes = await readFile(path);
    bytes.writeUInt8((bytes.at(-5) ?? 0) ^ 0xff, bytes.length - 5);
    await writeFile(path, bytes);
    const err = await failure(openEmbeddedPravega(dir));
    expect(err.code).toBe('STORE_CORRUPT');
    expect(err.message).toContain(snap);
  });

  /** Runs the crash child in `fixed` mode and kills it with SIGKILL once all events are acked. */
  async function crashAfterAcks(from: number, to: number): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, 'fixed', dir, SEG, String(from), String(to)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => child.on('exit', r));
    await new Promise<void>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('acked')) resolve();
      });
      child.on('exit', (c) => reject(new Error(`child exited with ${c}`)));
    });
    child.kill('SIGKILL');
    await exited;
  }

  const events = (from: number, to: number): string[] =>
    Array.from({ length: to - from + 1 }, (_, i) => `event-${from + i}`);

  it('recovers acknowledged appends of a killed process from the log', async () => {
    await crashAfterAcks(1, 30);
    const p = await openEmbeddedPravega(dir);
    expect(p.recovery.replayedRecords).toBeGreaterThanOrEqual(30);
    expect(p.recovery.truncatedTail).toBeUndefined();
    expect(await readEvents(p.segmentStore, SEG)).toEqual(events(1, 30));
    await p.close();
  });

  it('cuts a torn tail, reports it, and keeps everything before', async () => {
    await crashAfterAcks(1, 10);
    const logs = await logFiles(dir);
    const last = logs[logs.length - 1];
    if (last === undefined) throw new Error('no log');
    const path = join(dir, last);
    await truncate(path, (await stat(path)).size - 3); // a torn last record
    const warnings: string[] = [];
    const logger: EmbeddedLogger = { warn: (m) => warnings.push(m) };
    const q = await openEmbeddedPravega(dir, { logger });
    expect(q.recovery.truncatedTail?.reason).toBe('torn record');
    expect(q.recovery.truncatedTail?.file).toBe(last);
    expect(warnings.some((w) => w.includes('torn or corrupt tail'))).toBe(true);
    expect(await readEvents(q.segmentStore, SEG)).toEqual(events(1, 9));
    // the writer learns what is missing, resends it, and the store goes on
    const rec = recorder();
    const s = await q.segmentStore.openAppendSession(SEG, 'w', rec.handlers);
    expect(s.lastEventNumber).toBe(9n);
    s.append(frame('event-10'), 1, 10n);
    await eventually(() => rec.lastAck() === 10n, 'ack');
    await q.close();
    const r = await openEmbeddedPravega(dir);
    expect(r.recovery.truncatedTail).toBeUndefined();
    expect(await readEvents(r.segmentStore, SEG)).toEqual(events(1, 10));
    await r.close();
  });

  /** Flips one bit in the stored payload of `event` in the last log file. */
  async function flip(event: string): Promise<void> {
    const logs = await logFiles(dir);
    const path = join(dir, logs[logs.length - 1] ?? '');
    const bytes = await readFile(path);
    const at = bytes.lastIndexOf(Buffer.from(event));
    expect(at).toBeGreaterThan(0);
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from([(bytes[at + 3] ?? 0) ^ 0x20]), 0, 1, at + 3);
    await fh.close();
  }

  it('cuts a last record whose checksum fails (a flipped bit)', async () => {
    await crashAfterAcks(1, 20);
    await flip('event-20');
    const q = await openEmbeddedPravega(dir);
    expect(q.recovery.truncatedTail?.reason).toBe('record checksum mismatch');
    expect(await readEvents(q.segmentStore, SEG)).toEqual(events(1, 19));
    const s = await q.segmentStore.openAppendSession(SEG, 'w', recorder().handlers);
    expect(s.lastEventNumber).toBe(19n);
    await q.close();
  });

  it('refuses to open when damage has valid records after it, and changes nothing', async () => {
    await crashAfterAcks(1, 20);
    await flip('event-10');
    const logs = await logFiles(dir);
    const sizes = await Promise.all(logs.map(async (n) => (await stat(join(dir, n))).size));
    const err = await failure(openEmbeddedPravega(dir));
    expect(err.code).toBe('STORE_CORRUPT');
    expect(err.message).toContain('valid records follow');
    expect(await logFiles(dir)).toEqual(logs);
    expect(await Promise.all(logs.map(async (n) => (await stat(join(dir, n))).size))).toEqual(
      sizes,
    );
  });

  it('rolls log files over, snapshots, and deletes files nothing needs any more', async () => {
    const p = await openEmbeddedPravega(dir, { maxLogFileBytes: 64 * 1024 });
    const { segmentStore: store } = p;
    await store.createSegment(SEG);
    await store.createSegment('sc/st/1.#epoch.0');
    const rec = recorder();
    const s = await store.openAppendSession('sc/st/1.#epoch.0', 'w', rec.handlers);
    const big = Buffer.alloc(16 * 1024, 0x42);
    for (let i = 1; i <= 40; i++) s.append(frame(big), 1, BigInt(i));
    await eventually(() => rec.lastAck() === 40n, 'acks');
    await store.conditionalAppend(SEG, 0n, frame('keep me'));
    const before = await logFiles(dir);
    expect(before.length).toBeGreaterThan(5);
    // once segment 1 is gone, the files holding only its data can go
    await store.deleteSegment('sc/st/1.#epoch.0');
    for (let i = 0; i < 10; i++) {
      await store.conditionalAppend(SEG, (await store.getInfo(SEG)).length, frame(big));
    }
    await eventually(async () => (await logFiles(dir)).length < before.length, 'clean-up');
    await p.close();
    const q = await openEmbeddedPravega(dir, { maxLogFileBytes: 64 * 1024 });
    const events = await readEvents(q.segmentStore, SEG);
    expect(events[0]).toBe('keep me');
    expect(events.length).toBe(11);
    await q.close();
  });

  it('compacts mostly dead log files: moves their live data and deletes them', async () => {
    const opts = { maxLogFileBytes: 64 * 1024 };
    const p = await openEmbeddedPravega(dir, opts);
    const { segmentStore: store } = p;
    const KEEP = 'sc/st/keep.#epoch.0';
    const DROP = 'sc/st/drop.#epoch.0';
    await store.createSegment(KEEP);
    await store.createSegment(DROP);
    const keepRec = recorder();
    const dropRec = recorder();
    const keep = await store.openAppendSession(KEEP, 'k', keepRec.handlers);
    const drop = await store.openAppendSession(DROP, 'd', dropRec.handlers);
    const big = Buffer.alloc(12 * 1024, 0x43);
    // every log file gets a little live data and a lot of data that is deleted below
    for (let i = 1; i <= 60; i++) {
      keep.append(frame(`keep-${i}`), 1, BigInt(i));
      drop.append(frame(big), 1, BigInt(i));
      await eventually(() => dropRec.lastAck() === BigInt(i), 'ack');
    }
    await eventually(() => keepRec.lastAck() === 60n, 'acks');
    const before = await logFiles(dir);
    expect(before.length).toBeGreaterThan(8);
    await store.deleteSegment(DROP);
    // more traffic rolls the log, which snapshots, compacts and deletes
    const expected = Array.from({ length: 60 }, (_, i) => `keep-${i + 1}`);
    for (let i = 61; i <= 70; i++) {
      keep.append(frame(`keep-${i}-${big.toString('latin1')}`), 1, BigInt(i));
      expected.push(`keep-${i}-${big.toString('latin1')}`);
    }
    await eventually(() => keepRec.lastAck() === 70n, 'acks');
    const old = before.slice(0, -2);
    await eventually(
      async () => (await logFiles(dir)).every((f) => !old.includes(f)),
      'compaction and clean-up of the old files',
    );
    expect(await readEvents(store, KEEP)).toEqual(expected);
    await p.close();
    const q = await openEmbeddedPravega(dir, opts);
    expect(await readEvents(q.segmentStore, KEEP)).toEqual(expected);
    await q.close();
  });

  it('keeps every kind of metadata across restarts', async () => {
    let p = await openEmbeddedPravega(dir);
    const S = { scope: 'sc', stream: 'st' };
    await p.controller.createScope('sc');
    await p.controller.createStream(S, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
    await p.controller.scale(
      S,
      [1n],
      [
        [0.5, 0.75],
        [0.75, 1],
      ],
    );
    await p.segmentStore.updateAttribute(SEG, 'attr', 42n, undefined);
    await p.segmentStore.createTableSegment('sc/t');
    await p.segmentStore.tableUpdate('sc/t', [{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    const txn = await p.controller.createTransaction(S, 10_000);
    await p.close();
    p = await openEmbeddedPravega(dir);
    expect(p.recovery.streams).toBe(1);
    expect((await p.controller.getCurrentSegments(S)).length).toBe(3);
    expect(await p.segmentStore.getAttribute(SEG, 'attr')).toBe(42n);
    expect((await p.segmentStore.tableGet('sc/t', [Buffer.from('k')]))[0]?.value.toString()).toBe(
      'v',
    );
    expect(await p.controller.checkTransactionState(S, txn.txnId)).toBe('open');
    await p.close();
  });

  it('closes cleanly with reads waiting and rejects use afterwards', async () => {
    const p = await openEmbeddedPravega(dir);
    await p.segmentStore.createSegment(SEG);
    const waiting = failure(p.segmentStore.read(SEG, 0n, 10));
    await p.close();
    expect((await waiting).code).toBe('CLOSED');
    expect((await failure(p.segmentStore.getInfo(SEG))).code).toBe('CLOSED');
    expect((await failure(p.controller.scopeExists('x'))).code).toBe('CLOSED');
  });
});
