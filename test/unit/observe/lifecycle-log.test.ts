import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { observe } from '../../../src/observe/observer.js';
import { startExactlyOnceJob } from '../helpers/exactly-once-job.js';
import { tempDir } from '../helpers/files.js';

describe('lifecycle log', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('log');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('has one line per step: start, running, checkpoints, commits, restart with cause, resume, end', async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const job = startExactlyOnceJob({
      records: 4_000,
      outDir: dir.path,
      failures: [{ atRead: 1_500, afterCheckpoints: 1 }],
      options: {
        checkpoint: { intervalMs: 30, dir: `${dir.path}/checkpoints` },
        restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 10 },
        pravega: { controllerUri: 'tcp://admin:hunter22@controller:9090' },
      },
      ratePerSecond: 8_000,
    });
    const observer = await observe(job.handle, { log: { level: 'info', destination } });
    await job.handle;
    await observer.close();
    const lines = chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { event?: string; msg: string; level: string; job: string });
    const kinds = lines.map((l) => l.event);
    expect(lines.every((l) => l.job === 'exactly-once')).toBe(true);
    expect(kinds[0]).toBe('job-start');
    expect(kinds.filter((k) => k === 'job-running')).toHaveLength(2);
    expect(kinds).toContain('checkpoint-completed');
    expect(kinds).toContain('transaction-committed');
    expect(kinds.at(-1)).toBe('job-finished');
    const restart = lines.find((l) => l.event === 'job-restart');
    expect(restart?.level).toBe('warn');
    expect(restart?.msg).toMatch(/restart 1 in 10 ms from checkpoint \d+: intentional failure/);
    const resumed = lines.filter((l) => l.event === 'job-running')[1];
    expect(resumed?.msg).toMatch(/resumed from checkpoint \d+/);
    const checkpoint = lines.find((l) => l.event === 'checkpoint-completed');
    const fields = checkpoint as unknown as { durationMs: unknown; bytes: unknown };
    expect(Number.isInteger(fields.durationMs)).toBe(true);
    expect(typeof fields.bytes).toBe('number');
    expect(chunks.join('')).not.toContain('hunter22');
  });
});
