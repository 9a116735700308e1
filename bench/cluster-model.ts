import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PravegaClient } from '../src/pravega/client/pravega-client.js';
import {
  ClusterMember,
  SegmentCoordinationTable,
  waitUntil,
  type CoordinationTable,
  type TableWrite,
  type VersionedRecord,
} from '../src/cluster/index.js';
import { fmt, percentile } from './support.js';

/**
 * Where the coordination cost of a scaled-out job grows: N members (1, 4, 16, 64, 100) of one job
 * in this process, each with its own view of the job's coordination table, against the embedded
 * store or a real server. For each N: table calls per second at rest (heartbeats, polls), and per
 * checkpoint (proposal → every ack → completion) the time, table calls, conflicts and bytes, and
 * the size of the completed record. Then a model that extrapolates the measured per-member costs
 * to larger deployments. Printed, not asserted.
 *
 * `--in-band`: workers learn of a checkpoint from outside the table (as from the reader-group
 * marker) and poll the table only at the heartbeat rate.
 *
 * `npm run bench:cluster-model [-- --uri tcp://host:port | --uri embedded] [--sizes 1,4,16] [--checkpoints 5] [--in-band]`
 */

const HEARTBEAT_MS = 500;
const POLL_MS = 100;

interface Counts {
  calls: number;
  gets: number;
  keysRead: number;
  puts: number;
  conflicts: number;
  lists: number;
  entriesListed: number;
  bytesWritten: number;
}

const zero = (): Counts => ({
  calls: 0,
  gets: 0,
  keysRead: 0,
  puts: 0,
  conflicts: 0,
  lists: 0,
  entriesListed: 0,
  bytesWritten: 0,
});

/** Counts every call the members make on the table (all members share one counter). */
class CountingTable implements CoordinationTable {
  constructor(
    private readonly inner: CoordinationTable,
    private readonly counts: Counts,
  ) {}
  get where(): string {
    return this.inner.where;
  }
  get(keys: readonly string[]): Promise<(VersionedRecord | undefined)[]> {
    this.counts.calls++;
    this.counts.gets++;
    this.counts.keysRead += keys.length;
    return this.inner.get(keys);
  }
  async put(entries: readonly TableWrite[]): Promise<bigint[] | undefined> {
    this.counts.calls++;
    this.counts.puts++;
    for (const e of entries)
      this.counts.bytesWritten += e.key.length + JSON.stringify(e.value).length;
    const r = await this.inner.put(entries);
    if (r === undefined) this.counts.conflicts++;
    return r;
  }
  remove(keys: readonly { key: string; expected: bigint | 'any' }[]): Promise<boolean> {
    this.counts.calls++;
    return this.inner.remove(keys);
  }
  async list(prefix: string): Promise<VersionedRecord[]> {
    this.counts.calls++;
    this.counts.lists++;
    const r = await this.inner.list(prefix);
    this.counts.entriesListed += r.length;
    return r;
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

const diff = (a: Counts, b: Counts): Counts =>
  Object.fromEntries(
    Object.keys(a).map((k) => [k, a[k as keyof Counts] - b[k as keyof Counts]]),
  ) as unknown as Counts;

/** A worker's piece as a real one would look: positions of its segments, its open transaction. */
function piece(workerId: string, id: number): unknown {
  return {
    workerId,
    checkpoint: id,
    positions: Array.from({ length: 4 }, (_, i) => ({
      segment: `scope/orders/${i}.#epoch.0`,
      offset: 123_456_789 + i,
    })),
    transactions: [randomBytes(16).toString('hex')],
    state: `pravega://scope/_tributary-state-job/${workerId}/${id}`,
  };
}

interface Row {
  n: number;
  restCallsPerS: number;
  cpMs: number[];
  perCp: Counts;
  completedBytes: number;
}

async function measure(
  client: PravegaClient,
  scope: string,
  n: number,
  checkpoints: number,
  inBand: boolean,
): Promise<Row> {
  const job = `model-${n}`;
  const counts = zero();
  const members: ClusterMember[] = [];
  const joins: Promise<ClusterMember>[] = [];
  for (let i = 0; i < n; i++) {
    const table = new CountingTable(
      SegmentCoordinationTable.forJob(client.segmentStore, scope, job),
      counts,
    );
    const workerId = `w${i}`;
    joins.push(
      ClusterMember.join(table, {
        workerId,
        heartbeatMs: HEARTBEAT_MS,
        deadAfterMs: 30_000,
        pollMs: POLL_MS,
        checkpointTimeoutMs: 120_000,
        // in band, the reader-group marker tells each worker of the checkpoint (below: ack);
        // otherwise the worker learns it by polling the table
        ...(inBand
          ? { followerPollMs: HEARTBEAT_MS }
          : { onCheckpoint: (id: number) => Promise.resolve(piece(workerId, id)) }),
      }),
    );
  }
  members.push(...(await Promise.all(joins)));
  try {
    let leader: ClusterMember | undefined;
    await waitUntil(
      () => (leader = members.find((m) => m.isLeader)) !== undefined,
      120_000,
      `a leader among ${n} members`,
    );
    // at rest: heartbeats and polls only
    const restFrom = { ...counts };
    const restStart = performance.now();
    await new Promise((r) => setTimeout(r, 3_000));
    const restCallsPerS = (diff(counts, restFrom).calls * 1000) / (performance.now() - restStart);

    const cpMs: number[] = [];
    const before = { ...counts };
    let completedBytes = 0;
    for (let k = 0; k < checkpoints; k++) {
      const started = performance.now();
      const id = await leader!.triggerCheckpoint();
      if (inBand) for (const m of members) m.ack(id, piece(m.workerId, id));
      const done = await leader!.awaitCheckpoint(id, 120_000);
      cpMs.push(performance.now() - started);
      completedBytes = JSON.stringify(done).length;
    }
    const total = diff(counts, before);
    const perCp = Object.fromEntries(
      Object.entries(total).map(([k, v]) => [k, v / checkpoints]),
    ) as unknown as Counts;
    return { n, restCallsPerS, cpMs: cpMs.sort((a, b) => a - b), perCp, completedBytes };
  } finally {
    await Promise.all(members.map((m) => m.leave().catch(() => undefined)));
    await SegmentCoordinationTable.forJob(client.segmentStore, scope, job)
      .destroy()
      .catch(() => undefined);
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const given = arg('--uri') ?? 'embedded';
  const uri =
    given === 'embedded'
      ? `embedded:${mkdtempSync(join(tmpdir(), 'tributary-cluster-model-'))}`
      : given;
  const sizes = (arg('--sizes') ?? '1,4,16,64,100').split(',').map(Number);
  const checkpoints = Number(arg('--checkpoints') ?? 5);
  const inBand = process.argv.includes('--in-band');
  const client = await PravegaClient.connect(uri);
  const scope = `model-${randomBytes(4).toString('hex')}`;
  await client.createScope(scope);
  console.log(
    `cluster coordination on ${given === 'embedded' ? 'the embedded store' : uri}: heartbeat ${HEARTBEAT_MS} ms, poll ${POLL_MS} ms${inBand ? ` (followers ${HEARTBEAT_MS} ms; checkpoints reach workers in band)` : ''}, ${checkpoints} checkpoints per size, members in one process (the table traffic is what each member would send from its own process)`,
  );
  const rows: Row[] = [];
  for (const n of sizes) {
    rows.push(await measure(client, scope, n, checkpoints, inBand));
    const r = rows[rows.length - 1]!;
    console.log(
      `  N=${n}: checkpoint p50 ${fmt(percentile(r.cpMs, 50))} ms, ${fmt(r.perCp.calls)} table calls per checkpoint`,
    );
  }
  console.log('');
  console.log(
    '| members | calls/s at rest | checkpoint p50 ms | max ms | calls/checkpoint | puts | conflicts | keys read | entries listed | KB written | completed record KB |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.n} | ${fmt(r.restCallsPerS)} | ${fmt(percentile(r.cpMs, 50))} | ${fmt(r.cpMs[r.cpMs.length - 1] ?? NaN)} | ${fmt(r.perCp.calls)} | ${fmt(r.perCp.puts)} | ${fmt(r.perCp.conflicts, 1)} | ${fmt(r.perCp.keysRead)} | ${fmt(r.perCp.entriesListed)} | ${fmt(r.perCp.bytesWritten / 1024, 1)} | ${fmt(r.completedBytes / 1024, 1)} |`,
    );
  }
  // the model: per-member costs from the largest measured size, extrapolated
  const big = rows[rows.length - 1]!;
  const perMemberRest = big.restCallsPerS / big.n;
  const recordPerMember = big.completedBytes / big.n;
  console.log('');
  console.log(
    `model (from N=${big.n}): at rest ${fmt(perMemberRest, 1)} calls/s per member (its own read every poll + a beat every heartbeat; the leader also lists members every heartbeat); per checkpoint every member writes 1 ack (folded into a beat) and the leader reads all acks in one call per poll and writes 1 completion; the completed record grows ${fmt(recordPerMember)} B per member`,
  );
  console.log(
    '| workers | calls/s at rest | leader: entries listed/s | completed record KB | acks read per leader poll |',
  );
  console.log('|---:|---:|---:|---:|---:|');
  for (const w of [100, 250, 1000, 5000]) {
    console.log(
      `| ${w} | ${fmt(perMemberRest * w)} | ${fmt((w * 1000) / HEARTBEAT_MS)} | ${fmt((recordPerMember * w) / 1024, 1)} | ${fmt(w)} |`,
    );
  }
  await client.deleteScope(scope).catch(() => undefined);
  await client.close();
  if (uri.startsWith('embedded:'))
    rmSync(uri.slice('embedded:'.length), { recursive: true, force: true });
}

await main();
