import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireClient } from '../../../src/pravega/client/client-registry.js';
import { streamCutToText, tailCut } from '../../../src/pravega/client/stream-cut.js';
import { BACKENDS } from '../../support/backends.js';
import { produce, readOutput } from '../../support/e2e.js';
import { randomScope } from '../../support/endpoints.js';
import { expectExactlyOnceInOrder, keysOf } from '../../support/sequences.js';

const CHILD = fileURLToPath(new URL('./crash-job.ts', import.meta.url));
const KEYS = 16;
const PER_KEY = 7_500; // 120 000 events: at 8 000/s a full run takes 15 s and spans many checkpoints
const KILLS = 6;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly killed: boolean;
}

/** Runs the child job; kills it with SIGKILL `killAfterMs` after it reported running (if given). */
function runChild(args: object, killAfterMs: number | undefined): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (killAfterMs !== undefined && timer === undefined && output.includes('status running')) {
        timer = setTimeout(() => {
          killed = child.kill('SIGKILL');
        }, killAfterMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, output, killed });
    });
  });
}

describe.each(BACKENDS.map((b) => [b().name, b] as const))(
  'crash test on %s',
  (name, makeBackend) => {
    const backend = makeBackend();
    const checkpointDir = mkdtempSync(join(tmpdir(), 'tributary-crash-ckpt-'));

    afterAll(async () => {
      await backend.cleanup();
      rmSync(checkpointDir, { recursive: true, force: true });
    });

    it(`the job is SIGKILLed ${KILLS} times at random moments and still writes every event exactly once`, async () => {
      const scope = randomScope('crash');
      const input = `${scope}/in`;
      const output = `${scope}/out`;
      // set up and produce, then let go of the client (the embedded store has one owner: the child)
      let shared = await acquireClient(backend.uri());
      await shared.client.createScope(scope);
      await shared.client.createStream(input, { scalingPolicy: { type: 'fixed', minSegments: 4 } });
      await shared.client.createStream(output, {
        scalingPolicy: { type: 'fixed', minSegments: 4 },
      });
      await produce(shared.client, input, { keys: KEYS, perKey: PER_KEY, ratePerSecond: 200_000 });
      const end = await tailCut(shared.client.controller, shared.client.segmentStore, {
        scope,
        stream: 'in',
      });
      await shared.release();

      const args = {
        pravega: backend.uri(),
        input,
        output,
        end: streamCutToText(end),
        checkpointDir,
        ratePerSecond: 6_000,
      };
      const log: string[] = [];
      let kills = 0;
      for (let round = 0; round < KILLS; round++) {
        // killed 0.8–2.8 s after it runs: five rounds cannot finish the 15 s of work
        const run = await runChild(args, 800 + Math.floor(Math.random() * 2_000));
        const checkpoints = (run.output.match(/^checkpoint \d+/gm) ?? []).length;
        log.push(
          `round ${round}: ${run.killed ? 'killed' : `exit ${run.code}`} after ${checkpoints} checkpoint(s)`,
        );
        if (run.killed) kills++;
        else expect(run.code, run.output).toBe(0);
        if (!run.killed) break;
      }
      const last = await runChild(args, undefined);
      log.push(`final: exit ${last.code}; ${last.output.match(/done .*/)?.[0] ?? ''}`);
      console.log(`[${name}] ${log.join(' | ')}`);
      expect(last.code, last.output).toBe(0);
      expect(kills).toBeGreaterThanOrEqual(5);

      shared = await acquireClient(backend.uri());
      const events = await readOutput(shared.client, output);
      await shared.release();
      expectExactlyOnceInOrder(events, keysOf(KEYS), PER_KEY);
    }, 300_000);
  },
);
