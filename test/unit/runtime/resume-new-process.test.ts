import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyExactlyOnce, type Output } from '../helpers/exactly-once-job.js';
import { inProgressFiles, readCommitted, tempDir } from '../helpers/files.js';

const fixture = fileURLToPath(new URL('./fixtures/resume-job.ts', import.meta.url));
const tsxCli = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/**
 * Runs the fixture with `node --import tsx` (or under the `tsx` CLI, which runs it in a child
 * process of its own and relays signals); `signalAfter` sends that signal once the job printed
 * its second completed checkpoint.
 */
function runChild(
  args: string[],
  options: { tsxCli?: boolean; signalAfter?: NodeJS.Signals } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const argv = options.tsxCli
      ? [tsxCli, fixture, ...args]
      : ['--import', 'tsx', fixture, ...args];
    const child = spawn(process.execPath, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const signal = options.signalAfter;
      if (
        signal !== undefined &&
        !signalled &&
        (stdout.match(/^checkpoint \d+$/gm) ?? []).length >= 2
      ) {
        signalled = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('resume in a new process from a retained checkpoint directory', () => {
  let out: { path: string; remove: () => Promise<void> };
  let ckpt: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    out = await tempDir('resume-out');
    ckpt = await tempDir('resume-ckpt');
  });
  afterEach(async () => {
    await out.remove();
    await ckpt.remove();
  });

  it('a SIGKILLed job resumes from its checkpoint directory and commits every record exactly once', async () => {
    const total = 8_000;
    const crash = await runChild(['crash', out.path, ckpt.path, String(total)]);
    expect(crash.signal, crash.stderr).toBe('SIGKILL');
    const retained = (await readdir(ckpt.path)).filter((f) => f.endsWith('.ckpt'));
    expect(retained.length).toBeGreaterThanOrEqual(1);
    // retained: 2 — one more when the kill lands between storing a checkpoint and deleting the
    // oldest one
    expect(retained.length).toBeLessThanOrEqual(3);
    const before = await readCommitted<Output>(out.path);
    expect(before.length).toBeLessThan(total);

    const resume = await runChild(['resume', out.path, ckpt.path, String(total)]);
    expect(resume.code, resume.stderr).toBe(0);
    const summary = JSON.parse(resume.stdout.trim().split('\n').at(-1) ?? '{}') as {
      status: string;
    };
    expect(summary.status).toBe('finished');
    // the run resumed by itself, and said from where
    expect(resume.stdout).toMatch(
      /job "exactly-once" resumes from checkpoint \d+ of .* \(latest in .*\); positions: numbers: seq-\d-of-2 at \d+, seq-\d-of-2 at \d+/,
    );
    expect(verifyExactlyOnce(await readCommitted<Output>(out.path), total)).toEqual([]);
    expect(
      await inProgressFiles(out.path),
      `${crash.stdout}\n---\n${resume.stdout}\n${(await readdir(out.path)).join(' ')}`,
    ).toEqual([]);
    expect((await readdir(ckpt.path)).every((f) => !f.startsWith('.tmp'))).toBe(true);
  }, 60_000);

  it('survives three SIGKILLs at random moments, each run resuming from the directory', async () => {
    const total = 12_000;
    const moments: string[] = [];
    for (let crash = 0; crash < 3; crash++) {
      const checkpoints = 1 + Math.floor(Math.random() * 3);
      const delay = Math.floor(Math.random() * 40);
      moments.push(`${checkpoints} checkpoint(s) + ${delay} ms`);
      const run = await runChild([
        'crash',
        out.path,
        ckpt.path,
        String(total),
        String(checkpoints),
        String(delay),
      ]);
      // each run reads at most ~1 500 records of its own before it waits to be killed
      expect(run.signal, `${moments.join(', ')}\n${run.stderr}`).toBe('SIGKILL');
    }
    const resume = await runChild(['resume', out.path, ckpt.path, String(total)]);
    expect(resume.code, resume.stderr).toBe(0);
    expect(
      verifyExactlyOnce(await readCommitted<Output>(out.path), total),
      moments.join(', '),
    ).toEqual([]);
    expect(await inProgressFiles(out.path)).toEqual([]);
  }, 120_000);

  for (const [signal, tsx] of [
    ['SIGINT', false],
    ['SIGTERM', false],
    ['SIGINT', true],
  ] as const) {
    it(`${signal}${tsx ? ' under the tsx CLI' : ''} stops the job with a final checkpoint; running it again continues exactly there`, async () => {
      const total = 6_000;
      const stopped = await runChild(['signal', out.path, ckpt.path, String(total)], {
        tsxCli: tsx,
        signalAfter: signal,
      });
      expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(0);
      const summary = JSON.parse(stopped.stdout.trim().split('\n').at(-1) ?? '{}') as {
        status: string;
        lastCheckpointId: number;
      };
      expect(summary.status).toBe('stopped');
      expect(stopped.stdout).toContain(
        `warning: ${signal}: stopping job "exactly-once" with a final checkpoint`,
      );
      // the stop checkpoint is the latest one, and everything up to it is committed
      const retained = (await readdir(ckpt.path)).filter((f) => f.endsWith('.ckpt')).sort();
      expect(retained.at(-1)).toBe(
        `chk-${String(summary.lastCheckpointId).padStart(12, '0')}.ckpt`,
      );
      expect(await inProgressFiles(out.path)).toEqual([]);
      const before = await readCommitted<Output>(out.path);
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(total);

      const resume = await runChild(['resume', out.path, ckpt.path, String(total)]);
      expect(resume.code, resume.stderr).toBe(0);
      expect(resume.stdout).toContain(`resumes from checkpoint ${summary.lastCheckpointId} of`);
      expect(verifyExactlyOnce(await readCommitted<Output>(out.path), total)).toEqual([]);
    }, 120_000);
  }
});
