import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
import type { Counted } from './keyed-state-job.js';

const CHILD = fileURLToPath(new URL('./keyed-state-job.ts', import.meta.url));
const KEYS = 16;
const PER_KEY = 3_000; // 48 000 events at 6 000/s: about 8 s of work, many checkpoints
const KILLS = 3;
const WINDOW = 200;

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly killed: boolean;
}

/**
 * Runs the child job; once it completed `killAfter.checkpoints` checkpoints, kills it with SIGKILL
 * `killAfter.ms` later (if given): whatever the machine's speed, each round makes progress.
 */
function runChild(
  args: object,
  killAfter: { checkpoints: number; ms: number } | undefined,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const checkpoints = (output.match(/^checkpoint \d+/gm) ?? []).length;
      if (killAfter !== undefined && timer === undefined && checkpoints >= killAfter.checkpoints) {
        timer = setTimeout(() => {
          killed = child.kill('SIGKILL');
        }, killAfter.ms);
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

const STATE_BACKENDS = ['heap', 'lmdb'] as const;

describe.each(
  BACKENDS.flatMap((b) => STATE_BACKENDS.map((state) => [b().name, state, b] as const)),
)(
  'keyed state with incremental checkpoints, killed and restored, on %s with the %s state backend',
  (name, stateBackend, makeBackend) => {
    const backend = makeBackend();
    const checkpointDir = mkdtempSync(join(tmpdir(), 'tributary-keyed-crash-ckpt-'));

    afterAll(async () => {
      await backend.cleanup();
      rmSync(checkpointDir, { recursive: true, force: true });
    });

    it(`is SIGKILLed ${KILLS} times, resumes with another parallelism, and its state and output are exactly once`, async () => {
      const scope = randomScope('kscrash');
      const input = `${scope}/in`;
      const output = `${scope}/out`;
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
        parallelism: 2,
        backend: stateBackend,
      };
      const log: string[] = [];
      let kills = 0;
      let finished = false;
      let lastOutput = '';
      for (let round = 0; round < KILLS; round++) {
        // every restart after a kill changes the parallelism (2 → 3 → 2): key groups move
        const run = await runChild(
          { ...args, parallelism: round % 2 === 0 ? 2 : 3 },
          {
            checkpoints: 2,
            ms: Math.floor(Math.random() * 400),
          },
        );
        lastOutput = run.output;
        const checkpoints = (run.output.match(/^checkpoint \d+/gm) ?? []).length;
        log.push(
          `round ${round} (parallelism ${round % 2 === 0 ? 2 : 3}): ${run.killed ? 'killed' : `exit ${run.code}`} after ${checkpoints} checkpoint(s)`,
        );
        if (run.killed) kills++;
        else {
          expect(run.code, run.output).toBe(0);
          finished = true;
          break;
        }
      }
      const stateDir = join(checkpointDir, 'state');
      const pieces = existsSync(stateDir)
        ? readdirSync(stateDir).filter((f) => f.endsWith('.piece'))
        : [];
      expect(pieces.length, `${log.join(' | ')}\n${lastOutput}`).toBeGreaterThan(0);
      if (!finished) {
        // key groups move again: 3 subtasks read the chains written by the 2 before
        const last = await runChild({ ...args, parallelism: 3 }, undefined);
        log.push(`final (parallelism 3): exit ${last.code}`);
        expect(last.code, last.output).toBe(0);
      }
      console.log(`[${name}, ${stateBackend}] ${log.join(' | ')}`);
      expect(kills).toBeGreaterThanOrEqual(1);

      shared = await acquireClient(backend.uri());
      const events = (await readOutput(shared.client, output)) as Counted[];
      await shared.release();
      expectExactlyOnceInOrder(events, keysOf(KEYS), PER_KEY);
      // the state came back exactly: each count is the event's position in its key
      const wrong = events.filter(
        (e) => e.count !== e.seq + 1 || e.window !== Math.min(e.seq + 1, WINDOW),
      );
      expect(wrong.slice(0, 5)).toEqual([]);
    }, 300_000);
  },
);
