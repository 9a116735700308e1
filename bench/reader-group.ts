import { randomBytes } from 'node:crypto';
import { PravegaClient } from '../src/pravega/client/pravega-client.js';
import { ReaderGroup, type EventStreamReader } from '../src/pravega/client/reader-group/index.js';
import { bytesSerializer } from '../src/pravega/client/serializer.js';
import { benchTarget, fmt, percentile } from './support.js';

/**
 * Reader groups of 1 and of 2 readers (in this one process) reading 100 B events from a stream of
 * 4 segments: events/s and MB/s, and how long checkpoints take to complete while the readers read
 * (one checkpoint after another, each waited for).
 * `npm run bench:reader-group [-- --uri tcp://host:port | --uri embedded] [--events N]`
 */

const SIZE = 100;

async function fill(client: PravegaClient, stream: string, events: number): Promise<void> {
  await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
  const writer = await client.createWriter(stream, bytesSerializer);
  const payloads = Array.from({ length: 64 }, () => randomBytes(SIZE));
  const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    void writer.write(payloads[i % 64]!, keys[i % 16]);
    if (i % 1000 === 999) await writer.ready();
  }
  await writer.flush();
  await writer.close();
  const s = (performance.now() - started) / 1000;
  console.log(`wrote ${fmt(events)} events of ${SIZE} B into 4 segments in ${fmt(s, 1)} s`);
}

async function run(
  client: PravegaClient,
  scope: string,
  stream: string,
  readers: number,
  events: number,
): Promise<void> {
  const group = await ReaderGroup.create(client, scope, `g${readers}`, { streams: [stream] });
  const members: EventStreamReader<Buffer>[] = [];
  for (let i = 0; i < readers; i++) {
    members.push(await group.createReader(`r${i}`, bytesSerializer));
  }
  let read = 0;
  let bytes = 0;
  let done = false;
  const latencies: number[] = [];
  const started = performance.now();
  const checkpoints = (async () => {
    for (let n = 0; !done; n++) {
      const t0 = performance.now();
      try {
        await group.initiateCheckpoint(`c${n}`, { timeoutMs: 30_000 });
        if (!done) latencies.push(performance.now() - t0);
      } catch (err) {
        if (!done) throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.all(
    members.map(async (r) => {
      while (read < events) {
        const batch = await r.readBatch({ maxEvents: 10_000, timeoutMs: 500 });
        if (batch.kind !== 'events') continue;
        read += batch.events.length;
        for (const e of batch.events) bytes += e.value.length;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  done = true;
  await group.cancelOutstandingCheckpoints();
  await checkpoints;
  for (const r of members) await r.close();
  await group.delete();
  latencies.sort((a, b) => a - b);
  console.log(
    `${readers} reader${readers > 1 ? 's' : ' '}: ${fmt(read / elapsed)} events/s, ` +
      `${fmt(bytes / elapsed / 1e6, 1)} MB/s (${fmt(read)} events in ${fmt(elapsed, 2)} s); ` +
      `checkpoints while reading: ${latencies.length}, completion p50 ${fmt(percentile(latencies, 50), 1)} ms, ` +
      `p99 ${fmt(percentile(latencies, 99), 1)} ms, max ${fmt(latencies[latencies.length - 1] ?? NaN, 1)} ms`,
  );
}

const argv = process.argv.slice(2);
const eventsArg = argv.indexOf('--events');
const events = eventsArg >= 0 ? Number(argv[eventsArg + 1]) : 2_000_000;
const target = await benchTarget(argv);
const client = await PravegaClient.connect(target.uri);
try {
  console.log(`reader-group benchmark on ${target.label}: ${fmt(events)} events of ${SIZE} B`);
  const scope = `bench${Date.now()}`;
  await client.createScope(scope);
  const stream = `${scope}/rg`;
  await fill(client, stream, events);
  await run(client, scope, stream, 1, events);
  await run(client, scope, stream, 2, events);
  await run(client, scope, stream, 1, events); // again, warm
} finally {
  await client.close();
  await target.stop();
}
