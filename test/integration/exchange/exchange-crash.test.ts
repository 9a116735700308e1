import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeReceived } from '../../../src/cluster/exchange/envelope.js';
import { exchangeReaderGroupName, exchangeStreamId } from '../../../src/cluster/exchange/names.js';
import { segmentOfKeyGroup } from '../../../src/cluster/exchange/routing.js';
import { TributaryError } from '../../../src/errors.js';
import { acquireClient } from '../../../src/pravega/client/client-registry.js';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/reader-group.js';
import { bytesSerializer, jsonSerializer } from '../../../src/pravega/client/serializer.js';
import { streamCutToText, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { segmentName } from '../../../src/pravega/protocol/segment-name.js';
import { keyGroupOf } from '../../../src/runtime/key-groups.js';
import { BACKENDS } from '../../support/backends.js';
import { produce } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { readCommitted } from '../../support/read-stream.js';
import { keysOf, type Seq } from '../../support/sequences.js';
import { WINDOW_MS, type ExchangeJobArgs, type WindowCount } from './exchange-job-shared.js';

const CHILD = fileURLToPath(new URL('./exchange-job.ts', import.meta.url));
const KEYS = 8;
const PER_KEY = 4_000; // 32 000 events at 2 500/s: about 13 s of work, many checkpoints
const KILLS = 3;
const SEGMENTS = 3; // the job's edge (exchange-job.ts)
const KEY_GROUPS = 128; // the job's maxParallelism (default)

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly killed: boolean;
}

/**
 * Runs the child job; SIGKILLs it `killAfter.ms` after its `killAfter.checkpoints`-th checkpoint,
 * or at once then if that is later than `killAfter.latestMs` after its start.
 */
function runChild(
  args: ExchangeJobArgs,
  killAfter: { checkpoints: number; ms: number; latestMs: number } | undefined,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = Date.now();
    let output = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const checkpoints = (output.match(/^checkpoint \d+/gm) ?? []).length;
      if (killAfter !== undefined && timer === undefined && checkpoints >= killAfter.checkpoints) {
        // a late first checkpoint (a slow machine) leaves less time: the job must not end first
        const elapsed = Date.now() - started;
        timer = setTimeout(
          () => {
            killed = child.kill('SIGKILL');
          },
          Math.min(killAfter.ms, Math.max(0, killAfter.latestMs - elapsed)),
        );
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, output, killed });
    });
  });
}

async function withClient<R>(uri: string, body: (client: PravegaClient) => Promise<R>): Promise<R> {
  // the embedded store has one owner per directory: the test holds it only between child runs
  const shared = await acquireClient(uri);
  try {
    return await body(shared.client);
  } finally {
    await shared.release();
  }
}

function describeCounts(counts: readonly WindowCount[]): string[] {
  return counts.map((c) => `${c.key}@${c.start}=${c.count}`).sort();
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'keyBy through a Pravega exchange edge, killed and resumed, on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    const dirs: string[] = [];
    const tempDir = (prefix: string) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    };

    afterAll(async () => {
      await backend.cleanup();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it(`is SIGKILLed ${KILLS} times mid-stream; its windowed counts are exactly once and equal to the same job without the exchange; the edge's stream and reader group outlive the crashes and are deleted at the end`, async () => {
      const scope = randomScope('xchg');
      const end = await withClient(backend.uri(), async (client) => {
        await client.createScope(scope);
        await client.createStream(`${scope}/in`, {
          scalingPolicy: { type: 'fixed', minSegments: 4 },
        });
        for (const out of ['out-exchange', 'out-local'])
          await client.createStream(`${scope}/${out}`, {
            scalingPolicy: { type: 'fixed', minSegments: 2 },
          });
        await produce(client, `${scope}/in`, {
          keys: KEYS,
          perKey: PER_KEY,
          ratePerSecond: 200_000,
        });
        return tailCut(client.controller, client.segmentStore, { scope, stream: 'in' });
      });

      const jobName = 'exchange-crash';
      const args: ExchangeJobArgs = {
        pravega: backend.uri(),
        scope,
        input: `${scope}/in`,
        output: `${scope}/out-exchange`,
        end: streamCutToText(end),
        checkpointDir: tempDir('tributary-exchange-ckpt-'),
        ratePerSecond: 2_500,
        parallelism: 2,
        exchange: true,
        jobName,
      };
      const edgeStream = exchangeStreamId(scope, jobName, 'by-key');
      const edgeGroup = exchangeReaderGroupName(jobName, 'by-key');
      const log: string[] = [];
      let kills = 0;
      let finished = false;
      let placementChecked = 0;
      let lastOutput = '';
      for (let round = 0; round < KILLS; round++) {
        // after its first checkpoint (so that each round makes progress), at a random moment
        const run = await runChild(args, {
          checkpoints: 1,
          ms: 200 + Math.floor(Math.random() * 1_000),
          latestMs: 6_000 + Math.floor(Math.random() * 4_000),
        });
        lastOutput = run.output;
        if (process.env.EXCHANGE_TEST_LOG)
          appendFileSync(
            process.env.EXCHANGE_TEST_LOG,
            `--- round ${round} killed=${run.killed}\n${run.output}\n`,
          );
        const checkpoints = (run.output.match(/^checkpoint \d+/gm) ?? []).length;
        log.push(
          `round ${round}: ${run.killed ? 'killed' : `exit ${run.code}`} after ${checkpoints} checkpoint(s)`,
        );
        if (!run.killed) {
          expect(run.code, run.output).toBe(0);
          finished = true;
          break;
        }
        kills++;
        if (/^checkpoint \d+ final/m.test(run.output)) {
          // killed after the job's final checkpoint, while it deleted the edge: the next run
          // resumes from that checkpoint and ends at once
          log.push('(killed while cleaning up)');
          continue;
        }
        // a crash keeps the edge: its stream holds what completed checkpoints sent, each record
        // in the segment of its key group
        const placed = await withClient(backend.uri(), async (client) => {
          // (gone only when the kill came while the finished job deleted it: see below)
          if (!(await client.controller.streamExists(edgeStream))) return undefined;
          // the client's batch API refuses internal names: the ranges are built here
          // epoch 0: the edge's fixed segments, sealed or not (the edge never scales)
          const current = await client.controller.getEpochSegments(edgeStream, 0);
          expect(current.length).toBe(SEGMENTS);
          const batch = client.batchClient();
          const seq = jsonSerializer<Seq>();
          let checked = 0;
          let watermarks = 0;
          for (const s of current) {
            // segment i of a stream of S fixed segments holds the key range [i/S, (i+1)/S)
            const index = Math.round(s.minKey * SEGMENTS);
            const name = segmentName(scope, edgeStream.stream, s.segment.segmentId);
            const info = await client.segmentStore.getInfo(name);
            const range = {
              stream: edgeStream,
              segmentId: s.segment.segmentId,
              segment: name,
              startOffset: info.startOffset,
              endOffset: info.length,
            };
            const wrong: string[] = [];
            for await (const events of batch.readRange(range, bytesSerializer)) {
              for (const bytes of events) {
                const item = decodeReceived(bytes, name, (p) => seq.deserialize(p));
                if (item.kind !== 'record') {
                  watermarks++;
                  continue;
                }
                const { value, timestamp } = item;
                const group = keyGroupOf(value.key, KEY_GROUPS);
                if (
                  segmentOfKeyGroup(group, SEGMENTS, KEY_GROUPS) !== index ||
                  timestamp !== value.seq
                )
                  wrong.push(
                    `${value.key}#${value.seq} (group ${group}, ts ${timestamp}) in ${index}`,
                  );
                checked++;
              }
            }
            expect(wrong.slice(0, 5)).toEqual([]);
          }
          // every sender writes its watermark into every segment of each transaction
          if (checked > 0) expect(watermarks).toBeGreaterThan(0);
          return checked;
        }).catch((err: unknown) => {
          // killed after its final checkpoint, while it deleted the edge (the child's last lines
          // may be lost with SIGKILL): the next run resumes from that checkpoint and ends at once
          if (TributaryError.is(err, 'NO_SUCH_SEGMENT')) return undefined;
          throw err;
        });
        if (placed === undefined) log.push('(killed while deleting the edge)');
        else placementChecked += placed;
      }
      // windows fired and were committed mid-stream when watermarks crossed the edge before the
      // end (logged, not asserted: on a loaded machine every kill may come before the first one)
      const midStream = await withClient(backend.uri(), (client) =>
        readCommitted(client, `${scope}/out-exchange`, jsonSerializer<WindowCount>()),
      );
      log.push(`${midStream.length} windows out before the last run`);
      if (!finished) {
        const last = await runChild(args, undefined);
        if (process.env.EXCHANGE_TEST_LOG)
          appendFileSync(process.env.EXCHANGE_TEST_LOG, `--- final\n${last.output}\n`);
        log.push(`final: exit ${last.code}`);
        lastOutput = last.output;
        expect(last.code, last.output).toBe(0);
      }
      console.log(`[${name}] ${log.join(' | ')}; ${placementChecked} exchanged records checked`);
      expect(kills, `${log.join(' | ')}\n${lastOutput}`).toBeGreaterThanOrEqual(2);
      expect(placementChecked).toBeGreaterThan(0);

      // the same job without the exchange, not killed: the reference
      const local = await runChild(
        {
          ...args,
          exchange: false,
          jobName: 'exchange-crash-local',
          output: `${scope}/out-local`,
          checkpointDir: tempDir('tributary-exchange-local-ckpt-'),
        },
        undefined,
      );
      expect(local.code, local.output).toBe(0);

      await withClient(backend.uri(), async (client) => {
        // the job ended for good: its edge is gone
        expect(await client.controller.streamExists(edgeStream)).toBe(false);
        await expect(ReaderGroup.get(client, scope, edgeGroup)).rejects.toSatisfy((err) =>
          TributaryError.is(err, 'READER_GROUP_NOT_FOUND'),
        );

        const counts = jsonSerializer<WindowCount>();
        const viaExchange = await readCommitted(client, `${scope}/out-exchange`, counts);
        const viaLocal = await readCommitted(client, `${scope}/out-local`, counts);
        const expected = keysOf(KEYS).flatMap((key) =>
          Array.from(
            { length: PER_KEY / WINDOW_MS },
            (_, w) => `${key}@${w * WINDOW_MS}=${WINDOW_MS}`,
          ),
        );
        expected.sort();
        expect(describeCounts(viaLocal)).toEqual(expected);
        // exactly once: every window of every key once, with every event counted once
        expect(describeCounts(viaExchange)).toEqual(expected);
        // in order per key (windows fire in event-time order)
        const last = new Map<string, number>();
        const outOfOrder = viaExchange.filter((c) => {
          const before = last.get(c.key) ?? -1;
          last.set(c.key, c.start);
          return c.start <= before;
        });
        expect(outOfOrder.slice(0, 5)).toEqual([]);
      });
    }, 300_000);

    it('is exactly once when its first checkpoint starts before the input readers joined their reader group (killed right after it), with the exchange and with a local keyBy', async () => {
      // A slow machine or server: the readers join their reader group after the first checkpoints
      // were triggered. A reader-group checkpoint started without a reader holds that reader's
      // segments where they were at its start, while the reader, never shown its marker, cut its
      // output only at its end of input: the checkpoint then counted everything read as sent, and
      // a restore read it all again (every window twice, every event counted twice).
      const scope = randomScope('xlate');
      const perKey = 1_000; // 8 000 events at 2 500/s: over 3 s, the readers join after 1.5 s
      const end = await withClient(backend.uri(), async (client) => {
        await client.createScope(scope);
        await client.createStream(`${scope}/in`, {
          scalingPolicy: { type: 'fixed', minSegments: 4 },
        });
        for (const out of ['out-exchange', 'out-local'])
          await client.createStream(`${scope}/${out}`, {
            scalingPolicy: { type: 'fixed', minSegments: 2 },
          });
        await produce(client, `${scope}/in`, { keys: KEYS, perKey, ratePerSecond: 200_000 });
        return tailCut(client.controller, client.segmentStore, { scope, stream: 'in' });
      });
      const expected = keysOf(KEYS).flatMap((key) =>
        Array.from(
          { length: perKey / WINDOW_MS },
          (_, w) => `${key}@${w * WINDOW_MS}=${WINDOW_MS}`,
        ),
      );
      expected.sort();
      for (const exchange of [true, false]) {
        const label = exchange ? 'exchange' : 'local';
        const args: ExchangeJobArgs = {
          pravega: backend.uri(),
          scope,
          input: `${scope}/in`,
          output: `${scope}/out-${label}`,
          end: streamCutToText(end),
          checkpointDir: tempDir(`tributary-exchange-late-${label}-`),
          ratePerSecond: 2_500,
          parallelism: 2,
          exchange,
          jobName: `exchange-late-${label}`,
          readerJoinDelayMs: 1_500,
        };
        // killed at once when its first checkpoint completed
        const first = await runChild(args, { checkpoints: 1, ms: 0, latestMs: 0 });
        if (process.env.EXCHANGE_TEST_LOG)
          appendFileSync(process.env.EXCHANGE_TEST_LOG, `--- late ${label}\n${first.output}\n`);
        expect(first.killed, first.output).toBe(true);
        const last = await runChild(args, undefined);
        if (process.env.EXCHANGE_TEST_LOG)
          appendFileSync(
            process.env.EXCHANGE_TEST_LOG,
            `--- late ${label} final\n${last.output}\n`,
          );
        expect(last.code, last.output).toBe(0);
        const counts = await withClient(backend.uri(), (client) =>
          readCommitted(client, `${scope}/out-${label}`, jsonSerializer<WindowCount>()),
        );
        // every window of every key once, with every event counted once
        expect(describeCounts(counts), label).toEqual(expected);
      }
    }, 300_000);
  },
);
