import { setTimeout as sleep } from 'node:timers/promises';
import type { PravegaClient } from '../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../src/pravega/client/serializer.js';
import type { StreamCut } from '../../src/pravega/client/stream-cut.js';
import { parseStreamName } from '../../src/pravega/client/stream-name.js';
import type { JobEvent } from '../../src/runtime/job-events.js';
import type { JobOptionsInput } from '../../src/runtime/job-options.js';
import { StreamEnvironment } from '../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../src/source/pravega/pravega-source.js';
import { keysOf, type Seq } from './sequences.js';

export const seqSerializer = jsonSerializer<Seq>();

/**
 * Writes `perKey` sequence numbers for each of `keys` routing keys, interleaved, at about
 * `ratePerSecond`; optionally splits segment 0 once `scaleAfter` events are written.
 */
export async function produce(
  client: PravegaClient,
  stream: string,
  options: {
    keys: number;
    perKey: number;
    ratePerSecond?: number;
    scaleAfter?: number;
    /**
     * Before writing sequence number `atSeq`, wait (at most 30 s) until `until()` holds — e.g. until
     * the job has failed as planned, so that a test does not depend on the job's speed.
     */
    gates?: readonly { readonly atSeq: number; readonly until: () => boolean }[];
  },
): Promise<{ scaled: boolean }> {
  const writer = await client.createWriter(stream, seqSerializer);
  const keys = keysOf(options.keys);
  const rate = options.ratePerSecond ?? 50_000;
  const started = Date.now();
  let written = 0;
  let scaled = false;
  for (let i = 0; i < options.perKey; i++) {
    for (const gate of options.gates ?? []) {
      if (gate.atSeq !== i) continue;
      await writer.flush();
      const deadline = Date.now() + 30_000;
      while (!gate.until() && Date.now() < deadline) await sleep(20);
    }
    for (const key of keys) void writer.write({ key, seq: i }, key);
    written += keys.length;
    if (options.scaleAfter !== undefined && !scaled && written >= options.scaleAfter) {
      await writer.flush();
      const [first] = await client.controller.getCurrentSegments(parseStreamName(stream));
      if (first) {
        const mid = (first.minKey + first.maxKey) / 2;
        await client.scaleStream(
          stream,
          [first.segment.segmentId],
          [
            [first.minKey, mid],
            [mid, first.maxKey],
          ],
        );
        scaled = true;
      }
    }
    const ahead = written / rate - (Date.now() - started) / 1000;
    if (ahead > 0.01) await sleep(ahead * 1000);
    if (i % 100 === 0) await writer.ready();
  }
  await writer.close();
  return { scaled };
}

/** Reads the whole output stream (committed events) in key order. */
export async function readOutput(
  client: PravegaClient,
  stream: string,
  atLeast: number,
  idleMs = 1_500,
): Promise<Seq[]> {
  const scanner = await client.scanStream(stream, seqSerializer);
  try {
    return (await scanner.readUpTo(atLeast, idleMs)).map((e) => e.value);
  } finally {
    scanner.close();
  }
}

/** Polls the output until it holds at least `count` events. */
export async function waitForOutput(
  client: PravegaClient,
  stream: string,
  count: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    seen = (await readOutput(client, stream, count, 500)).length;
    if (seen >= count) return seen;
    await sleep(500);
  }
  return seen;
}

/**
 * One injected failure, once `afterCheckpoints` checkpoints completed (over all attempts) and
 * either `afterRecords` records went through this attempt, or a record with a sequence number of
 * at least `atSeq` comes by. `atSeq` does not depend on how fast the job catches up with the
 * producer: records past it keep coming until the producer is done.
 */
export type Failure = { readonly afterCheckpoints: number } & (
  { readonly afterRecords: number } | { readonly atSeq: number }
);

/**
 * Pravega source (p=2) → map that fails per plan → Pravega sink (p=2), all chained one-to-one,
 * so each key travels through one subtask between checkpoints and keeps its order.
 */
export function startPipeline(args: {
  pravega: string;
  input: string;
  output: string;
  guarantee: 'exactly-once' | 'at-least-once';
  failures: readonly Failure[];
  options?: JobOptionsInput;
  jobName?: string;
  bounded?: { end: StreamCut };
}) {
  const env = StreamEnvironment.create({
    parallelism: 2,
    pravega: args.pravega,
    checkpoint: { intervalMs: 300, timeoutMs: 30_000 },
    restart: { type: 'fixed-delay', maxAttempts: 10, delayMs: 100 },
    ...args.options,
  });
  const pending = [...args.failures];
  let completed = 0;
  let seenInAttempt = 0;
  const events: JobEvent[] = [];
  const source = PravegaSource.forStream(
    args.input,
    args.bounded ? { end: args.bounded.end } : {},
  ).json<Seq>();
  const sink = PravegaSink.forStream(args.output)
    .json<Seq>()
    .routingKey((s) => s.key);
  env
    .fromSource(source, { name: 'input', uid: 'input' })
    .map(
      (s) => {
        seenInAttempt++;
        const next = pending[0];
        const due =
          next !== undefined &&
          completed >= next.afterCheckpoints &&
          ('atSeq' in next ? s.seq >= next.atSeq : seenInAttempt >= next.afterRecords);
        if (due) {
          pending.shift();
          throw new Error(
            `intentional failure after ${seenInAttempt} records (${completed} checkpoints)`,
          );
        }
        return s;
      },
      { name: 'failing-map', uid: 'failing-map' },
    )
    .sinkTo(
      args.guarantee === 'exactly-once'
        ? sink.exactlyOnce({ leaseMs: 60_000 })
        : sink.atLeastOnce(),
      {
        name: 'output',
        uid: 'output',
      },
    );
  const handle = env.execute(args.jobName ?? `e2e-${args.output.replace('/', '-')}`);
  handle.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'checkpoint-completed') completed++;
    if (e.type === 'status' && e.status === 'running') seenInAttempt = 0;
  });
  return { handle, events, remainingFailures: () => pending.length, checkpoints: () => completed };
}
