import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/reader-group.js';
import { tailCut } from '../../../src/pravega/client/stream-cut.js';
import { readerGroupName } from '../../../src/source/pravega/names.js';
import { BACKENDS } from '../../support/backends.js';
import {
  produce,
  readOutput,
  startPipeline,
  waitForOutput,
  type Failure,
} from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';

const KEYS = 16;

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'exactly-once Pravega → job → Pravega on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    let client: PravegaClient;
    const scope = randomScope('e2e');
    let n = 0;

    beforeAll(async () => {
      client = await backend.connect();
      await client.createScope(scope);
    });
    afterAll(async () => {
      await backend.cleanup();
    });

    async function streams(): Promise<{ input: string; output: string }> {
      n++;
      const input = `${scope}/in${n}`;
      const output = `${scope}/out${n}`;
      await client.createStream(input, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
      await client.createStream(output, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
      return { input, output };
    }

    /** Producer and job run together; the job is cancelled once the output is complete. */
    async function runUnbounded(args: {
      perKey: number;
      failures: Failure[];
      guarantee: 'exactly-once' | 'at-least-once';
      scaleAfter?: number;
    }) {
      const { input, output } = await streams();
      const total = KEYS * args.perKey;
      const job = startPipeline({
        pravega: backend.uri(),
        input,
        output,
        guarantee: args.guarantee,
        failures: args.failures,
      });
      const produced = await produce(client, input, {
        keys: KEYS,
        perKey: args.perKey,
        ratePerSecond: 8_000,
        ...(args.scaleAfter !== undefined ? { scaleAfter: args.scaleAfter } : {}),
        // each failure's records are written only once its checkpoints are done
        gates: job.gates,
      });
      const seen = await waitForOutput(client, output, total, 150_000);
      // a little longer: duplicates, if any, would show up now
      await new Promise((r) => setTimeout(r, 1_000));
      const result = await job.handle.cancel();
      const events = await readOutput(client, output);
      console.log(
        `[${name}] ${args.guarantee}: ${total} in, ${events.length} out (seen ${seen} before cancel), ` +
          `${result.restarts} restart(s), ${job.checkpoints()} checkpoints${produced.scaled ? ', input scaled' : ''}`,
      );
      return { events, result, job, total, produced };
    }

    it('delivers every event exactly once, in key order, through a failure after checkpoints', async () => {
      const { events, result, job } = await runUnbounded({
        perKey: 1_500,
        failures: [{ atSeq: 400, afterCheckpoints: 2 }],
        guarantee: 'exactly-once',
      });
      expect(job.remainingFailures()).toBe(0);
      expect(result.restarts).toBe(1);
      expectExactlyOnceInOrder(events, keysOf(KEYS), 1_500);
    });

    it('delivers exactly once when the failure comes before the first checkpoint', async () => {
      const { events, result, job } = await runUnbounded({
        perKey: 800,
        failures: [{ atSeq: 150, afterCheckpoints: 0 }],
        guarantee: 'exactly-once',
      });
      expect(job.remainingFailures()).toBe(0);
      expect(result.restarts).toBeGreaterThanOrEqual(1);
      expectExactlyOnceInOrder(events, keysOf(KEYS), 800);
    });

    it('delivers exactly once through several failures', async () => {
      const { events, job } = await runUnbounded({
        perKey: 1_500,
        failures: [
          { atSeq: 300, afterCheckpoints: 1 },
          { atSeq: 700, afterCheckpoints: 3 },
          { atSeq: 1_100, afterCheckpoints: 5 },
        ],
        guarantee: 'exactly-once',
      });
      expect(job.remainingFailures()).toBe(0);
      expectExactlyOnceInOrder(events, keysOf(KEYS), 1_500);
    });

    it('delivers exactly once, in key order, when the input stream scales while the job runs', async () => {
      const { events, produced, job, result } = await runUnbounded({
        perKey: 1_500,
        // the scale comes after seq 500; the failure after checkpoints that hold events written
        // after it
        failures: [{ atSeq: 1_000, afterCheckpoints: 4 }],
        guarantee: 'exactly-once',
        scaleAfter: 8_000,
      });
      expect(produced.scaled).toBe(true);
      expect(job.remainingFailures()).toBe(0);
      expect(result.restarts).toBe(1);
      expectExactlyOnceInOrder(events, keysOf(KEYS), 1_500);
    });

    it('loses nothing in at-least-once mode (duplicates allowed)', async () => {
      const { events, total, job } = await runUnbounded({
        perKey: 1_000,
        failures: [{ atSeq: 400, afterCheckpoints: 2 }],
        guarantee: 'at-least-once',
      });
      expect(job.remainingFailures()).toBe(0);
      expect(new Set(events.map((e) => `${e.key}#${e.seq}`)).size).toBe(total);
    });

    it('finishes on its own when every input stream has an end cut, and deletes its reader group', async () => {
      const { input, output } = await streams();
      await produce(client, input, { keys: KEYS, perKey: 500 });
      const end = await tailCut(client.controller, client.segmentStore, {
        scope,
        stream: input.split('/')[1]!,
      });
      const job = startPipeline({
        pravega: backend.uri(),
        input,
        output,
        guarantee: 'exactly-once',
        // the input is all there before the job starts, so the producer cannot wait for
        // checkpoints: the failure comes mid-input, after however many there were by then
        failures: [{ atSeq: 250, afterCheckpoints: 0 }],
        bounded: { end },
        jobName: `bounded-${n}`,
      });
      const result = await job.handle.result;
      expect(result.status).toBe('finished');
      expect(job.remainingFailures()).toBe(0);
      expect(result.restarts).toBe(1);
      const events = await readOutput(client, output);
      expectExactlyOnceInOrder(events, keysOf(KEYS), 500);
      // the job is over for good: its reader group is gone
      await expect(
        ReaderGroup.get(client, scope, readerGroupName(`bounded-${n}`, 'input')),
      ).rejects.toMatchObject({
        code: 'READER_GROUP_NOT_FOUND',
      });
    });
  },
);
