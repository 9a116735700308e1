import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedPravega } from '../../../src/pravega/embedded/index.js';
import { readAll, tempDir, unframe } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const KEYS = ['k0', 'k1', 'k2'];

/**
 * A child process appends to three segments with many blocks in flight and prints each ack; it is
 * killed with SIGKILL at a random moment, ten times. After every kill the store must hold every
 * acknowledged event, none twice, in order per key.
 */
describe('embedded store under SIGKILL', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('keeps every acknowledged event exactly once, in order, across ten kills', async () => {
    const dir = join(tmp.dir, 'data');
    const acked = new Map<string, bigint>(KEYS.map((k) => [k, 0n]));
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let cutTails = 0;
    let totalAcks = 0;
    for (let round = 0; round < 10; round++) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, 'random', dir, String(KEYS.length), String(round + 1)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      let buffered = '';
      let ready = false;
      let acksThisRound = 0;
      const readyOrExit = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          buffered += d.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) {
            if (line === 'ready') {
              ready = true;
              resolve();
            }
            const m = /^ack (\S+) (\d+)$/.exec(line);
            if (m?.[1] !== undefined && m[2] !== undefined) {
              const n = BigInt(m[2]);
              if (n > (acked.get(m[1]) ?? 0n)) acked.set(m[1], n);
              acksThisRound++;
            }
          }
        });
        void exited.then((c) => {
          if (!ready) reject(new Error(`child exited with ${c} before it was ready`));
        });
      });
      await readyOrExit;
      // kill at a random moment while appends are in flight, once this round has acks to lose
      // (however slow the machine: the child appends until it is killed)
      const ackDeadline = Date.now() + 60_000;
      while (acksThisRound === 0 && Date.now() < ackDeadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, Math.floor(random() * 300)));
      child.kill('SIGKILL');
      expect(await exited).toBeNull();

      const p = await openEmbeddedPravega(dir);
      if (p.recovery.truncatedTail !== undefined) cutTails++;
      try {
        for (const key of KEYS) {
          const events = unframe(await readAll(p.segmentStore, `crash/test/${key}`));
          // exactly 1, 2, 3, … for the key: nothing twice, nothing missing, order kept
          events.forEach((e, i) => {
            if (e !== `${key}:${i + 1}`) {
              throw new Error(`round ${round}: event ${i} of ${key} is ${e}, not ${key}:${i + 1}`);
            }
          });
          const ackedUpTo = acked.get(key) ?? 0n;
          expect(BigInt(events.length)).toBeGreaterThanOrEqual(ackedUpTo);
        }
      } finally {
        await p.close();
      }
      totalAcks += acksThisRound;
    }
    // the test means something only if the child got far enough to have acks to lose
    expect(totalAcks).toBeGreaterThanOrEqual(10);
    console.log(
      `crash test: ${cutTails} of 10 restarts cut a torn tail; acked`,
      Object.fromEntries(acked),
    );
  }, 300_000);
});
