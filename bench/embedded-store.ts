/**
 * Benchmark of the embedded Pravega store: durable appends of small (100 B) and large (10 KiB)
 * events and sequential reads, next to the disk's own fsync'd sequential write rate measured in
 * the same run. Run with `npm run bench:embedded` (options: --dir DIR, --mib N, --rounds N,
 * --segments N, --block BYTES).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedPravega } from '../src/pravega/embedded/index.js';
import type { SegmentStore } from '../src/pravega/segment/segment-store.js';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string' },
    mib: { type: 'string', default: '512' },
    segments: { type: 'string', default: '4' },
    block: { type: 'string', default: '1048576' },
    rounds: { type: 'string', default: '3' },
  },
});
const TOTAL_BYTES = Number(args.mib) * 1024 * 1024;
const SEGMENTS = Number(args.segments);
const BLOCK_BYTES = Number(args.block);
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

function frameBlock(payloadSize: number, blockBytes: number): { block: Buffer; events: number } {
  const framed = payloadSize + 8;
  const events = Math.max(1, Math.floor(blockBytes / framed));
  const block = Buffer.alloc(events * framed);
  for (let i = 0; i < events; i++) {
    const at = i * framed;
    block.writeInt32BE(0, at);
    block.writeInt32BE(payloadSize, at + 4);
    block.fill(0x61 + (i % 26), at + 8, at + framed);
  }
  return { block, events };
}

/** The disk's own rate: sequential writes of `chunkBytes`, each followed by fdatasync. */
async function diskRate(dir: string, bytes: number, chunkBytes: number): Promise<number> {
  const chunk = Buffer.alloc(chunkBytes, 0x5a);
  const path = join(dir, 'disk-rate.tmp');
  const fh = await open(path, 'w');
  const t0 = performance.now();
  let pos = 0;
  while (pos < bytes) {
    await fh.write(chunk, 0, chunk.length, pos);
    await fh.datasync();
    pos += chunk.length;
  }
  const secs = (performance.now() - t0) / 1000;
  await fh.close();
  await rm(path);
  return pos / secs;
}

async function appendRun(
  store: SegmentStore,
  segments: string[],
  payloadSize: number,
  totalBytes: number,
): Promise<{ events: number; bytes: number; secs: number }> {
  const { block, events: perBlock } = frameBlock(payloadSize, BLOCK_BYTES);
  const blocks = Math.max(segments.length, Math.ceil(totalBytes / block.length));
  const t0 = performance.now();
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const sessions = await Promise.all(
    segments.map(async (name) => {
      const state = { acked: 0n, sent: 0n };
      const session = await store.openAppendSession(name, `bench-${name}`, {
        onAck: (n) => {
          inFlight -= Number(n - state.acked) / perBlock;
          state.acked = n;
          wake?.();
        },
        onFailure: (e) => {
          failure = e;
          wake?.();
        },
      });
      return { session, state };
    }),
  );
  const maxBlocks = Math.max(1, Math.floor(MAX_IN_FLIGHT_BYTES / block.length));
  for (let i = 0; i < blocks; i++) {
    while (inFlight >= maxBlocks && failure === undefined) {
      await new Promise<void>((r) => (wake = r));
    }
    if (failure !== undefined) throw failure;
    const s = sessions[i % sessions.length];
    if (s === undefined) continue;
    s.state.sent += BigInt(perBlock);
    inFlight++;
    s.session.append(block, perBlock, s.state.sent);
  }
  while (inFlight > 0 && failure === undefined) await new Promise<void>((r) => (wake = r));
  if (failure !== undefined) throw failure;
  const secs = (performance.now() - t0) / 1000;
  for (const s of sessions) s.session.close();
  return { events: blocks * perBlock, bytes: blocks * block.length, secs };
}

async function readRun(
  store: SegmentStore,
  segments: string[],
): Promise<{ events: number; bytes: number; secs: number }> {
  const t0 = performance.now();
  let events = 0;
  let bytes = 0;
  await Promise.all(
    segments.map(async (name) => {
      const info = await store.getInfo(name);
      let offset = 0n;
      let carry: Buffer = Buffer.alloc(0);
      while (offset < info.length) {
        const r = await store.read(name, offset, 4 * 1024 * 1024);
        offset += BigInt(r.data.length);
        bytes += r.data.length;
        const buf = carry.length > 0 ? Buffer.concat([carry, r.data]) : r.data;
        let at = 0;
        while (at + 8 <= buf.length) {
          const len = buf.readInt32BE(at + 4);
          if (at + 8 + len > buf.length) break;
          at += 8 + len;
          events++;
        }
        carry = buf.subarray(at);
      }
    }),
  );
  return { events, bytes, secs: (performance.now() - t0) / 1000 };
}

const mb = (bytesPerSec: number): string => `${(bytesPerSec / 1e6).toFixed(0)} MB/s`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface Round {
  /** the disk's rate around each run: 1 MiB and 16 MiB writes + fdatasync, mean of before and after */
  smallDisk1: number;
  smallDisk16: number;
  largeDisk1: number;
  largeDisk16: number;
  small: number;
  smallBytes: number;
  large: number;
  largeBytes: number;
  smallRead: number;
  largeRead: number;
  largeReadBytes: number;
}

async function round(base: string, n: number): Promise<Round> {
  const dir = join(base, `store-${n}`);
  // The disk is measured right before and after each store run: this virtual disk's rate drifts
  // a lot (bursts), so a rate measured once at the start says little about a later run.
  const diskBytes = Math.min(TOTAL_BYTES, 256 * 1024 * 1024);
  const disk = async (): Promise<[number, number]> => [
    await diskRate(base, diskBytes, 1024 * 1024),
    await diskRate(base, diskBytes, 16 * 1024 * 1024),
  ];
  const pravega = await openEmbeddedPravega(dir);
  try {
    const { controller, segmentStore } = pravega;
    await controller.createScope('bench');
    const run = async (label: string, size: number) => {
      const stream = { scope: 'bench', stream: label };
      await controller.createStream(stream, {
        scalingPolicy: { type: 'fixed', minSegments: SEGMENTS },
      });
      const names = (await controller.getCurrentSegments(stream)).map(
        (s) => `bench/${label}/${s.segment.segmentId}.#epoch.0`,
      );
      const before = await disk();
      const append = await appendRun(segmentStore, names, size, TOTAL_BYTES);
      const after = await disk();
      const read = await readRun(segmentStore, names);
      return {
        append,
        read,
        disk1: (before[0] + after[0]) / 2,
        disk16: (before[1] + after[1]) / 2,
      };
    };
    const small = await run('small', 100);
    const large = await run('large', 10 * 1024);
    return {
      smallDisk1: small.disk1,
      smallDisk16: small.disk16,
      largeDisk1: large.disk1,
      largeDisk16: large.disk16,
      small: small.append.events / small.append.secs,
      smallBytes: small.append.bytes / small.append.secs,
      large: large.append.events / large.append.secs,
      largeBytes: large.append.bytes / large.append.secs,
      smallRead: small.read.events / small.read.secs,
      largeRead: large.read.events / large.read.secs,
      largeReadBytes: large.read.bytes / large.read.secs,
    };
  } finally {
    await pravega.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const base = args.dir ?? (await mkdtemp(join(tmpdir(), 'tributary-bench-')));
  const rounds = Number(args.rounds);
  console.log(
    `embedded store benchmark in ${base}: ${rounds} rounds of ${TOTAL_BYTES / 2 ** 20} MiB per run, ` +
      `${SEGMENTS} segments, blocks of ${BLOCK_BYTES} B, up to ${MAX_IN_FLIGHT_BYTES / 2 ** 20} MiB in flight`,
  );
  const results: Round[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const r = await round(base, i);
      results.push(r);
      console.log(
        `round ${i + 1}: 100 B ${(r.small / 1e6).toFixed(2)} M ev/s ${mb(r.smallBytes)} ` +
          `(disk ${mb(r.smallDisk1)} / ${mb(r.smallDisk16)}); ` +
          `10 KiB ${(r.large / 1e3).toFixed(1)} k ev/s ${mb(r.largeBytes)} ` +
          `(disk ${mb(r.largeDisk1)} / ${mb(r.largeDisk16)}); ` +
          `reads ${(r.smallRead / 1e6).toFixed(2)} M ev/s, ${mb(r.largeReadBytes)}`,
      );
    }
  } finally {
    if (args.dir === undefined) await rm(base, { recursive: true, force: true });
  }
  const m = (f: (r: Round) => number): number => median(results.map(f));
  const disk1 = m((r) => (r.smallDisk1 + r.largeDisk1) / 2);
  const disk16 = m((r) => (r.smallDisk16 + r.largeDisk16) / 2);
  console.log(
    `\nmedians over ${rounds} rounds (disk rates measured right before and after each run)`,
  );
  console.log(
    `disk, 1 MiB writes + fdatasync each:   ${mb(disk1)}  (= ${(disk1 / 108 / 1e6).toFixed(2)} M framed 100 B events/s)`,
  );
  console.log(`disk, 16 MiB writes + fdatasync each:  ${mb(disk16)}`);
  console.log(
    `append 100 B events, durable:          ${(m((r) => r.small) / 1e6).toFixed(2)} M events/s, ${mb(m((r) => r.smallBytes))}` +
      `  ratio to the disk around it: ${m((r) => r.smallBytes / r.smallDisk1).toFixed(2)} (1 MiB+sync), ${m((r) => r.smallBytes / r.smallDisk16).toFixed(2)} (16 MiB+sync)`,
  );
  console.log(
    `append 10 KiB events, durable:         ${(m((r) => r.large) / 1e3).toFixed(1)} k events/s, ${mb(m((r) => r.largeBytes))}` +
      `  ratio to the disk around it: ${m((r) => r.largeBytes / r.largeDisk1).toFixed(2)} (1 MiB+sync), ${m((r) => r.largeBytes / r.largeDisk16).toFixed(2)} (16 MiB+sync)`,
  );
  console.log(
    `read 100 B events:                     ${(m((r) => r.smallRead) / 1e6).toFixed(2)} M events/s`,
  );
  console.log(
    `read 10 KiB events:                    ${(m((r) => r.largeRead) / 1e3).toFixed(1)} k events/s, ${mb(m((r) => r.largeReadBytes))}`,
  );
  const smallOk = m((r) => r.small) >= 2e6;
  const largeOk = m((r) => r.largeBytes / r.largeDisk1) >= 0.5;
  console.log(
    `targets: >= 2 M small events/s: ${smallOk ? 'met' : 'NOT met'}; ` +
      `large events >= 0.5 x disk (1 MiB+sync): ${largeOk ? 'met' : 'NOT met'}`,
  );
}

await main();
