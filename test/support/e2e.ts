import { setTimeout as sleep } from 'node:timers/promises';
import type { PravegaClient } from '../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../src/pravega/client/serializer.js';
import type { StreamCut } from '../../src/pravega/client/stream-cut.js';
import { parseStreamName } from '../../src/pravega/client/stream-name.js';
import type { JobEvent } from '../../src/runtime/job-events.js';
import type { JobOptionsInput } from '../../src/runtime/job-options.js';
import { StreamEnvironment, type ExecuteOptions } from '../../src/runtime/stream-environment.js';
import { PravegaSink } from '../../src/sink/pravega/pravega-sink.js';
import { PravegaSource } from '../../src/source/pravega/pravega-source.js';
import { readCommitted } from './read-stream.js';
import { keysOf, type Seq } from './sequences.js';

export const seqSerializer = jsonSerializer<Seq>();

/** Creates `scope` and in it a stream of a fixed number of segments per name (`{ in: 4, out: 2 }`). */
export async function createFixedStreams(
  client: PravegaClient,
  scope: string,
  segments: Readonly<Record<string, number>>,
): Promise<void> {
  await client.createScope(scope);
  for (const [name, minSegments] of Object.entries(segments))
    await client.createStream(`${scope}/${name}`, {
      scalingPolicy: { type: 'fixed', minSegments },
    });
}

/** The producer waits before writing `atSeq` until `until()` holds. */
export interface ProducerGate {
  readonly atSeq: number;
  readonly until: () => boolean;
  readonly name: string;
}

const GATE_DEADLINE_MS = 120_000;

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
     * Before writing sequence number `atSeq`, wait until `until()` holds — e.g. until the job has
     * completed its checkpoints and failed as planned — so that a test does not depend on the job's
     * speed. A gate that stays shut for 120 s fails the producer with an error naming it.
     */
    gates?: readonly ProducerGate[];
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
      const deadline = Date.now() + GATE_DEADLINE_MS;
      while (!gate.until()) {
        if (Date.now() > deadline) {
          await writer.close();
          throw new Error(
            `producer gate before seq ${gate.atSeq} (${gate.name}) did not open within ${GATE_DEADLINE_MS} ms`,
          );
        }
        await sleep(20);
      }
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

/** Every event committed to the output stream now, in order per key. */
export function readOutput(client: PravegaClient, stream: string): Promise<Seq[]> {
  return readCommitted(client, stream, seqSerializer);
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
    seen = (await readOutput(client, stream)).length;
    if (seen >= count) return seen;
    await sleep(500);
  }
  return seen;
}

/**
 * One injected failure: the map fails on the first record with a sequence number of at least
 * `atSeq` once `afterCheckpoints` checkpoints completed (over all attempts) and the failures
 * planned before it happened. With the producer gated by {@link startPipeline}'s `gates` (it
 * writes `atSeq` only once those hold), the failure comes exactly there, however fast or slow the
 * machine is; without the gates (input written beforehand) only with `afterCheckpoints: 0`.
 */
export interface Failure {
  readonly atSeq: number;
  readonly afterCheckpoints: number;
}

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
  execute?: ExecuteOptions;
}) {
  const env = StreamEnvironment.create({
    parallelism: 2,
    pravega: args.pravega,
    checkpoint: { intervalMs: 300, timeoutMs: 30_000 },
    restart: { type: 'fixed-delay', maxAttempts: 10, delayMs: 100 },
    ...args.options,
  });
  const failures = args.failures;
  let fired = 0;
  let completed = 0;
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
        const next = failures[fired];
        if (next !== undefined && s.seq >= next.atSeq && completed >= next.afterCheckpoints) {
          fired++;
          throw new Error(
            `intentional failure ${fired} at ${s.key}#${s.seq} (${completed} checkpoints)`,
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
  const handle = env.execute(args.jobName ?? `e2e-${args.output.replace('/', '-')}`, args.execute);
  handle.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'checkpoint-completed') completed++;
  });
  /** Producer gates: `atSeq` of each failure is written once its checkpoints and the failures before it are done. */
  const gates: ProducerGate[] = failures.map((f, index) => ({
    atSeq: f.atSeq,
    name: `failure ${index + 1}: ${f.afterCheckpoints} checkpoint(s), ${index} failure(s) before`,
    until: () => completed >= f.afterCheckpoints && fired >= index,
  }));
  return {
    handle,
    events,
    gates,
    remainingFailures: () => failures.length - fired,
    checkpoints: () => completed,
  };
}
