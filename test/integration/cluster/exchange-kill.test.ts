import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/cluster-worker.js';
import { exchangeStreamId } from '../../../src/cluster/exchange/index.js';
import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { createFixedStreams, produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';
import { WINDOW_MS, type WindowCount } from './keyed-window-job.js';
import { describeCounts, expectInOrderPerKey, expectedWindows } from './window-counts.js';
import { WorkerProcess, type WorkerArgs } from './worker-processes.js';

const KEYS = 8;
const COUNTED = 1_000;
const KILLS = 10;
const START_MS = 60_000;
const SCRIPT = fileURLToPath(new URL('./exchange-count-worker.ts', import.meta.url));
const windowCounts = jsonSerializer<WindowCount>();

/** What the two jobs differ in: their input, and what their output must be. */
interface Variant {
  readonly name: string;
  readonly windows: boolean;
  readonly inputSegments: number;
  readonly perKey: number;
  /** how many outputs there are now, and how many there must be in the end */
  outputs(client: PravegaClient, stream: string): Promise<number>;
  readonly expectedOutputs: number;
  check(client: PravegaClient, stream: string): Promise<void>;
}

const VARIANTS: readonly Variant[] = [
  {
    name: 'running count per key (no event time)',
    windows: false,
    inputSegments: 2,
    perKey: COUNTED,
    outputs: async (client, stream) => (await readOutput(client, stream)).length,
    expectedOutputs: KEYS * COUNTED,
    check: async (client, stream) =>
      expectExactlyOnceInOrder(await readOutput(client, stream), keysOf(KEYS), COUNTED),
  },
  {
    name: 'windowed count per key (event time across the edge)',
    windows: true,
    inputSegments: 1,
    // the last 2 windows' worth only moves the watermark past the counted ones
    perKey: COUNTED + 2 * WINDOW_MS,
    outputs: async (client, stream) =>
      describeCounts(await readCommitted(client, stream, windowCounts), COUNTED).length,
    expectedOutputs: KEYS * (COUNTED / WINDOW_MS),
    check: async (client, stream) => {
      const counts = await readCommitted(client, stream, windowCounts);
      // what one process gives: every window of every key once, full, none late
      expect(describeCounts(counts, COUNTED)).toEqual(expectedWindows(keysOf(KEYS), COUNTED));
      expectInOrderPerKey(counts);
    },
  },
];

/**
 * The keyed jobs whose state moves with the exchange edge's segments (exchange-count-job.ts:
 * Pravega source → keyByExchange → running count per key, or event-time windows counted per key
 * → exactly-once Pravega sink) in 3 worker processes against the real server (docs/scale-out.md
 * §6 item 6): a random worker is SIGKILLed at a random moment 10 times while the input is written
 * — each time after a checkpoint completed since the last kill — and restarted or not (the
 * cluster stays at 2 to 4 workers), and a worker is added mid-run. Every worker runs the whole
 * graph; the edge's reader group spreads its segments, and with them the key groups' state, over
 * the live workers. The output is what the job gives in one process: every running count of every
 * key exactly once and in order; every window of every key once, full, in order, none late.
 */
describe.each(VARIANTS)(
  'keyed job across 3 worker processes, state moving with the exchange segments (real server): $name',
  (variant) => {
    const workers: WorkerProcess[] = [];
    afterAll(() => {
      for (const w of workers) w.kill();
    });

    it(`SIGKILLed ${KILLS} times, restarted or not, a worker added: every count once, in order`, async () => {
      const uri = inject('pravega').controllerUri;
      const scope = randomScope(variant.windows ? 'xwin' : 'xkill');
      const client = await PravegaClient.connect(uri);
      const log: string[] = [];
      const killedAt = new Map<string, number>();
      try {
        await createFixedStreams(client, scope, { in: variant.inputSegments, out: 2 });
        const args: WorkerArgs = {
          pravega: uri,
          scope,
          job: 'xkill',
          input: `${scope}/in`,
          output: `${scope}/out`,
          parallelism: 2,
          checkpointIntervalMs: 500,
          heartbeatMs: 250,
          deadAfterMs: 2_500,
          windows: variant.windows,
        };
        const start = async (): Promise<WorkerProcess> => {
          const w = WorkerProcess.spawn(args, SCRIPT);
          workers.push(w);
          await w.whenStarted(START_MS);
          return w;
        };
        const completed = (): number =>
          Math.max(
            0,
            ...workers.flatMap((w) =>
              [...w.output.matchAll(/^checkpoint (\d+)/gm)].map((m) => Number(m[1])),
            ),
          );
        /** Resolves once a checkpoint after `id` completed (some worker logged it). */
        const checkpointAfter = async (id: number): Promise<void> => {
          const deadline = Date.now() + 90_000;
          while (Date.now() < deadline) {
            if (completed() > id) return;
            await sleep(50);
          }
          throw new Error(
            `no checkpoint after ${id} within 90 s:\n${workers.map((w) => w.output.slice(-2_000)).join('\n---\n')}`,
          );
        };

        const live: WorkerProcess[] = [await start()];
        live.push(...(await Promise.all([start(), start()])));
        // the input is written across the kills: the producer waits at a few sequence numbers
        // until the next kill happened, so every kill lands while records still flow
        let kills = 0;
        const producing = produce(client, `${scope}/in`, {
          keys: KEYS,
          perKey: variant.perKey,
          ratePerSecond: 150,
          gates: Array.from({ length: KILLS }, (_, r) => ({
            atSeq: Math.floor(((r + 1) * COUNTED) / (KILLS + 1)),
            until: () => kills > r,
            name: `kill ${r + 1}`,
          })),
        });
        let midStream = 0;
        for (let round = 0; round < KILLS; round++) {
          await checkpointAfter(completed());
          await sleep(Math.floor(Math.random() * 1_500));
          const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
          killedAt.set(victim.workerId!, Date.now());
          victim.kill();
          kills++;
          await victim.gone();
          const at = completed();
          // restart it or not, keeping 2..4 workers; one more joins half-way
          let action = 'not restarted';
          if (live.length < 2 || Math.random() < 0.6) {
            live.push(await start());
            action = 'restarted';
          }
          if (round === KILLS / 2) {
            const added = await start();
            live.push(added);
            // it owns key groups once its state of a checkpoint names some
            const since = Date.now();
            while (!/^state /m.test(added.output) && Date.now() - since < 60_000) await sleep(20);
            expect(added.output).toMatch(/^state /m);
            action += `, a worker added (owned key groups ${Date.now() - since} ms after it joined)`;
          }
          log.push(`kill ${round + 1} after checkpoint ${at}: ${action}, ${live.length} live`);
          if (round === KILLS - 2) midStream = await variant.outputs(client, `${scope}/out`);
        }
        await producing;
        const deadline = Date.now() + 120_000;
        let outputs = await variant.outputs(client, `${scope}/out`);
        while (Date.now() < deadline && outputs < variant.expectedOutputs) {
          await sleep(500);
          outputs = await variant.outputs(client, `${scope}/out`);
        }
        // a few more checkpoints: a late duplicate would show now
        await checkpointAfter(completed() + 2);
        outputs = await variant.outputs(client, `${scope}/out`);
        // from the SIGKILL to the leader having handed the dead worker's segments back
        const handled = workers.flatMap((w) =>
          [...w.output.matchAll(/^handled (\S+) .* (\d+)$/gm)].map(
            (m) => Number(m[2]) - (killedAt.get(m[1]!) ?? Number.NaN),
          ),
        );
        const sorted = handled.filter((ms) => Number.isFinite(ms)).sort((a, b) => a - b);
        // cluster checkpoints given up on, and those of them that timed out (each one stalls the
        // job for checkpointTimeoutMs)
        const aborted = new Map<string, string>();
        for (const w of workers)
          for (const m of w.output.matchAll(/^aborted (\d+) (.*)$/gm)) aborted.set(m[1]!, m[2]!);
        const timedOut = [...aborted.values()].filter((r) => r.includes('timed out')).length;
        console.log(
          `[exchange kill test] ${log.join(' | ')} | dead workers handled: ${handled.length}, kill → segments handed back ms: median ${sorted[Math.floor(sorted.length / 2)]} max ${sorted.at(-1)} (deadAfterMs ${args.deadAfterMs}) | checkpoints: ${completed()}, ${aborted.size} aborted (${timedOut} timed out) | ${midStream} outputs before the last kills, ${outputs} at the end`,
        );
        if (variant.windows) {
          // where event time stood in each live worker (what missing windows would show)
          for (const w of live) {
            const lines = [...w.output.matchAll(/^watermarks (.*)$/gm)];
            console.log(
              `[exchange kill test] ${w.workerId} event time at the end: ${lines.at(-1)?.[1] ?? '(none reported)'}`,
            );
          }
        }
        await variant.check(client, `${scope}/out`);
        // the output came while the job ran (windows: the watermarks crossed the edge mid-stream)
        expect(midStream).toBeGreaterThan(0);
        expect(midStream).toBeLessThan(variant.expectedOutputs);
        // the killed workers were declared dead and handed over
        expect(handled.length).toBeGreaterThanOrEqual(KILLS - 1);

        // the job ends for good: its exchange stream goes with its reader groups and state
        for (const w of live) w.kill();
        await Promise.all(live.map((w) => w.gone()));
        const ended = await ClusterWorker.endJob(uri, scope, args.job, { quietMs: 3_000 });
        const edge = exchangeStreamId(scope, args.job, 'by-key');
        expect(ended.edgeStreamsRemoved).toEqual([`${edge.scope}/${edge.stream}`]);
        expect(await client.controller.streamExists(edge)).toBe(false);
        expect(ended.readerGroups).toHaveLength(2);
      } finally {
        for (const w of workers) w.kill();
        await client.close();
      }
    }, 600_000);
  },
);
