/**
 * Which embedded store backs the disk keyed-state backend (issue 17): LMDB (`lmdb`) against
 * RocksDB (`rocksdb-native`) on the state backend's workload — keys of a 2-byte key-group prefix
 * and an 8-byte key, ~100-byte values; a load of `keys` keys in batches, then random get + put in
 * batches of `batch` keys (read every key of the batch, then write them all in one write batch),
 * with a consistent read snapshot taken every second (the backend's checkpoint capture).
 *
 * Each store runs in its own child process, alternated A/B/A/B over `rounds` rounds; medians are
 * printed. Numbers are wall time on a shared machine.
 *
 *   npm run bench:disk-stores -- [--keys 10000000] [--ops 2000000] [--batch 1000] [--rounds 2]
 *                                 [--stores lmdb,rocksdb]
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, percentile } from './support.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

type StoreName = 'lmdb' | 'rocksdb';

interface Spec {
  readonly store: StoreName;
  readonly keys: number;
  readonly ops: number;
  readonly batch: number;
}

interface Result {
  readonly store: StoreName;
  readonly loadPerSecond: number;
  readonly opsPerSecond: number;
  readonly readMicros: number;
  readonly writeMicros: number;
  readonly snapshotMs: number[];
  readonly peakRssBytes: number;
}

/** The operations the bench needs from a store, batched as the backend would use them. */
interface Store {
  /** values of `keys`, in order (undefined where absent) */
  getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> | (Buffer | undefined)[];
  putMany(entries: readonly [Buffer, Buffer][]): Promise<void>;
  /** takes and releases a consistent read snapshot */
  snapshot(): Promise<void> | void;
  close(): Promise<void>;
}

async function openStore(name: StoreName, dir: string): Promise<Store> {
  if (name === 'lmdb') {
    const { open } = await import('lmdb');
    const db = open({
      path: dir,
      encoding: 'binary',
      keyEncoding: 'binary',
      noSync: true,
      noMetaSync: true,
      useWritemap: process.env['LMDB_WRITEMAP'] === '1',
      mapSize: 64 * 2 ** 30,
    });
    return {
      getMany: (keys) => keys.map((k) => db.getBinary(k)),
      putMany: async (entries) => {
        await db.batch(() => {
          for (const [k, v] of entries) void db.put(k, v);
        });
      },
      snapshot: () => {
        const txn = db.useReadTransaction();
        txn.done();
      },
      close: () => db.close(),
    };
  }
  const { default: RocksDB } = await import('rocksdb-native');
  const db = new RocksDB(dir);
  await db.ready();
  return {
    getMany: async (keys) => {
      const read = db.read({ autoDestroy: true });
      const values = keys.map((k) => read.get(k));
      read.tryFlush();
      return (await Promise.all(values)).map((v) => v ?? undefined);
    },
    putMany: async (entries) => {
      const write = db.write({ autoDestroy: true });
      for (const [k, v] of entries) write.put(k, v);
      await write.flush();
    },
    snapshot: async () => {
      const snap = db.snapshot();
      const read = snap.read({ autoDestroy: true });
      const v = read.get(Buffer.alloc(10));
      read.tryFlush();
      await v;
      await snap.close();
    },
    close: () => db.close(),
  };
}

function keyOf(n: number): Buffer {
  const key = Buffer.allocUnsafe(10);
  key.writeUInt16BE(n % 128, 0);
  key.writeBigUInt64BE(BigInt(n), 2);
  return key;
}

function valueOf(n: number, version: number): Buffer {
  const value = Buffer.alloc(100, 0x61 + (version % 26));
  value.writeUInt32BE(n, 0);
  return value;
}

async function run(spec: Spec): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), `tributary-diskbench-${spec.store}-`));
  const store = await openStore(spec.store, dir);
  try {
    const loadStart = performance.now();
    const loadBatch = 10_000;
    for (let from = 0; from < spec.keys; from += loadBatch) {
      const entries: [Buffer, Buffer][] = [];
      for (let n = from; n < Math.min(spec.keys, from + loadBatch); n++)
        entries.push([keyOf(n), valueOf(n, 0)]);
      await store.putMany(entries);
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;

    let readMs = 0;
    let writeMs = 0;
    const snapshotMs: number[] = [];
    let nextSnapshot = performance.now() + 1000;
    const start = performance.now();
    for (let done = 0; done < spec.ops; done += spec.batch) {
      // sorted, as the backend writes a flush (B-tree and LSM stores both prefer it)
      const numbers = Array.from({ length: spec.batch }, () =>
        Math.floor(Math.random() * spec.keys),
      ).sort((a, b) => (a % 128) - (b % 128) || a - b);
      const keys = numbers.map(keyOf);
      const t0 = performance.now();
      const values = await store.getMany(keys);
      const t1 = performance.now();
      const entries = keys.map((k, i): [Buffer, Buffer] => {
        const old = values[i];
        if (old === undefined) throw new Error(`key ${numbers[i]} is missing from ${spec.store}`);
        return [k, valueOf(numbers[i] as number, (old[4] as number) + 1)];
      });
      await store.putMany(entries);
      const t2 = performance.now();
      readMs += t1 - t0;
      writeMs += t2 - t1;
      if (t2 >= nextSnapshot) {
        await store.snapshot();
        snapshotMs.push(performance.now() - t2);
        nextSnapshot = performance.now() + 1000;
      }
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      store: spec.store,
      loadPerSecond: spec.keys / loadSeconds,
      opsPerSecond: spec.ops / seconds,
      readMicros: (readMs * 1000) / spec.ops,
      writeMicros: (writeMs * 1000) / spec.ops,
      snapshotMs: snapshotMs.sort((a, b) => a - b),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function inChild(spec: Spec): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(spec)], {
      execArgv: ['--import', 'tsx'],
    });
    let result: Result | undefined;
    child.on('message', (m) => (result = m as Result));
    child.on('error', reject);
    child.on('exit', (code) =>
      result !== undefined ? resolve(result) : reject(new Error(`bench child exited with ${code}`)),
    );
  });
}

const median = (values: number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

if (argv[0] === '--child') {
  process.send?.(await run(JSON.parse(argv[1] ?? '{}') as Spec));
} else {
  const keys = Number(arg('--keys') ?? 10_000_000);
  const ops = Number(arg('--ops') ?? 2_000_000);
  const batch = Number(arg('--batch') ?? 1000);
  const rounds = Number(arg('--rounds') ?? 2);
  const stores = (arg('--stores') ?? 'lmdb,rocksdb').split(',') as StoreName[];
  console.log(
    `embedded stores for disk keyed state (shared machine, wall time): ${fmt(keys)} keys of 10 B, 100 B values, random get+put in batches of ${batch}, a read snapshot every second; ${rounds} round(s) alternated, medians`,
  );
  const results = new Map<StoreName, Result[]>(stores.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    for (const store of stores) {
      const r = await inChild({ store, keys, ops, batch });
      results.get(store)?.push(r);
      console.log(
        `  round ${round} ${store}: load ${fmt(r.loadPerSecond)}/s, get+put ${fmt(r.opsPerSecond)}/s`,
      );
    }
  }
  console.log(
    'store      load keys/s   get+put/s   get µs   put µs   snapshot p50/max ms   peak RSS',
  );
  for (const [store, rs] of results) {
    const snaps = rs.flatMap((r) => r.snapshotMs).sort((a, b) => a - b);
    console.log(
      [
        store.padEnd(10),
        fmt(median(rs.map((r) => r.loadPerSecond))).padStart(12),
        fmt(median(rs.map((r) => r.opsPerSecond))).padStart(11),
        fmt(median(rs.map((r) => r.readMicros)), 2).padStart(8),
        fmt(median(rs.map((r) => r.writeMicros)), 2).padStart(8),
        `${fmt(percentile(snaps, 50), 2)} / ${fmt(snaps.at(-1) ?? NaN, 2)}`.padStart(21),
        `${fmt(median(rs.map((r) => r.peakRssBytes)) / 2 ** 20)} MiB`.padStart(10),
      ].join(' '),
    );
  }
}
