import { randomBytes } from 'node:crypto';
import { PravegaClient } from '../src/pravega/client/pravega-client.js';
import { bytesSerializer } from '../src/pravega/client/serializer.js';
import { runJavaWriter } from './java-writer.js';
import { benchTarget, fmt, percentile } from './support.js';

/**
 * One event writer, one segment: events/s, MB/s and ack latency (write → durable) for 100 B and
 * 10 KiB events, flat out and at a steady lower rate (ack latency without queueing).
 * `npm run bench:writer [-- --uri tcp://host:port | --uri embedded] [--seconds N] [--in-flight-kib K] [--java]`
 *
 * `--java` then runs the Java client's writer (the jars the server came from) flat out against
 * the same server, for a side-by-side number on the same machine.
 */

const argv = process.argv.slice(2);
const inFlightArg = argv.indexOf('--in-flight-kib');
/** unacknowledged bytes the writer keeps in flight at most (default 1 MiB, as the writer) */
const IN_FLIGHT_KIB = inFlightArg >= 0 ? Number(argv[inFlightArg + 1]) : 1024;

async function run(
  client: PravegaClient,
  scope: string,
  size: number,
  seconds: number,
  rate?: number,
): Promise<void> {
  const stream = `${scope}/w${size}r${rate ?? 0}`;
  await client.createStream(stream, { scalingPolicy: { type: 'fixed', minSegments: 1 } });
  const writer = await client.createWriter(stream, bytesSerializer, {
    maxInFlightBytes: IN_FLIGHT_KIB * 1024,
  });
  const payloads = Array.from({ length: 64 }, () => randomBytes(size));
  const latencies: number[] = [];
  const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
  // warm up
  for (let i = 0; i < 2000; i++) void writer.write(payloads[i % 64]!, keys[i % 16]);
  await writer.flush();

  const started = performance.now();
  const until = started + seconds * 1000;
  let count = 0;
  while (performance.now() < until) {
    const burst = rate === undefined ? 1000 : Math.max(1, Math.floor(rate / 1000));
    for (let i = 0; i < burst; i++) {
      const p = writer.write(payloads[count % 64]!, keys[count % 16]);
      if (count % 97 === 0) {
        const t0 = performance.now();
        void p.then(() => latencies.push(performance.now() - t0));
      }
      count++;
    }
    await writer.ready();
    if (rate !== undefined) {
      const ahead = count / rate - (performance.now() - started) / 1000;
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000));
    }
  }
  await writer.flush();
  const elapsed = (performance.now() - started) / 1000;
  await writer.close();
  latencies.sort((a, b) => a - b);
  const eps = count / elapsed;
  console.log(
    `${String(size).padStart(6)} B events${rate === undefined ? ', flat out' : ` at ${fmt(rate)}/s`}: ${fmt(eps)} events/s, ${fmt((eps * size) / 1e6, 1)} MB/s, ` +
      `ack latency p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(percentile(latencies, 99), 1)} ms ` +
      `(${fmt(count)} events in ${fmt(elapsed, 1)} s)`,
  );
}

const secondsArg = argv.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(argv[secondsArg + 1]) : 10;

if (argv.includes('--java')) {
  await sideBySide(seconds);
} else {
  const target = await benchTarget(argv);
  const client = await PravegaClient.connect(target.uri);
  try {
    console.log(
      `writer benchmark on ${target.label}, ${seconds} s per size, 1 segment, 16 routing keys`,
    );
    const scope = `bench${Date.now()}`;
    await client.createScope(scope);
    await run(client, scope, 100, seconds);
    await run(client, scope, 10 * 1024, seconds);
    await run(client, scope, 100, seconds, 50_000);
    await run(client, scope, 10 * 1024, seconds, 2_000);
  } finally {
    await client.close();
    await target.stop();
  }
}

/**
 * This writer and the Java client's, flat out, each on a fresh server: the standalone's 128 MiB
 * cache fills under ~100 MB/s and the server throttles, so a run must not inherit the last one's
 * backlog.
 */
async function sideBySide(seconds: number): Promise<void> {
  console.log(
    `writer benchmark, TypeScript vs the Java client (io.pravega:pravega-client 0.13.0): ${seconds} s flat out per run, 1 segment, 16 routing keys, a fresh server per run`,
  );
  for (const size of [100, 10 * 1024]) {
    for (const side of ['typescript', 'java'] as const) {
      const target = await benchTarget([]);
      try {
        const scope = `bench${Date.now()}`;
        console.log(`${side}:`);
        if (side === 'java') {
          console.log(runJavaWriter(target.uri, scope, size, seconds));
        } else {
          const client = await PravegaClient.connect(target.uri);
          try {
            await client.createScope(scope);
            await run(client, scope, size, seconds);
          } finally {
            await client.close();
          }
        }
      } finally {
        await target.stop();
      }
    }
  }
}
