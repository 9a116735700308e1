import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { PravegaClient, utf8Serializer } from '../../../src/pravega/client/index.js';
import { openEmbeddedPravega } from '../../../src/pravega/embedded/index.js';
import { tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./open-child.ts', import.meta.url));

interface ChildReport {
  ok: boolean;
  code?: string;
  message?: string;
  details?: Record<string, unknown>;
}

/** Opens `dir` from a second process, which prints what happened. */
async function openFromChild(dir: string): Promise<ChildReport> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, dir], {
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildReport;
}

describe('one embedded store per directory per process', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  beforeEach(async () => {
    tmp = await tempDir();
    dir = join(tmp.dir, 'data');
  });
  afterEach(async () => {
    await tmp.cleanup();
  });

  it('two clients of the same directory share the store: one writes, the other reads', async () => {
    const a = await PravegaClient.connect(`embedded:${dir}`);
    // the same directory spelled differently is the same store
    const b = await PravegaClient.connect({ controllerUri: `embedded:${dir}/../data` });
    try {
      await a.createScope('sc');
      await a.createStream('sc/st', { scalingPolicy: { type: 'fixed', minSegments: 1 } });
      const writer = await a.createWriter('sc/st', utf8Serializer);
      await writer.writeBatch(['one', 'two', 'three']);
      await writer.flush();
      await writer.close();
      const scanner = await b.scanStream('sc/st', utf8Serializer);
      const seen = await scanner.readUpTo(3, 60_000);
      scanner.close();
      expect(seen.map((e) => e.value)).toEqual(['one', 'two', 'three']);
    } finally {
      await a.close();
    }
    // closing one client leaves the store open for the other
    expect(await b.controller.streamExists({ scope: 'sc', stream: 'st' })).toBe(true);
    await b.close();
    // after the last close the directory is free: another process can open it
    expect(await openFromChild(dir)).toEqual({ ok: true });
  });

  it('a second process gets STORE_LOCKED naming the owner pid, while this one holds it', async () => {
    const p = await openEmbeddedPravega(dir);
    const q = await openEmbeddedPravega(dir); // same process: shared, not locked
    try {
      expect(q.controller).toBe(p.controller);
      const report = await openFromChild(dir);
      expect(report.ok).toBe(false);
      expect(report.code).toBe('STORE_LOCKED');
      expect(report.details?.['pid']).toBe(process.pid);
      expect(report.message).toContain(String(process.pid));
      await p.close();
      await p.close(); // a second close of the same handle gives nothing back twice
      // q still holds it
      expect((await openFromChild(dir)).code).toBe('STORE_LOCKED');
    } finally {
      await q.close();
    }
    expect(await openFromChild(dir)).toEqual({ ok: true });
  });

  it('refuses to share a store opened with other options, naming the path', async () => {
    const p = await openEmbeddedPravega(dir, { fsync: false });
    try {
      const err = await openEmbeddedPravega(dir, { fsync: true }).catch((e: unknown) => e);
      expect(TributaryError.is(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain(join(tmp.dir, 'data'));
      // no options: the open store is shared as it is
      const q = await openEmbeddedPravega(dir);
      await q.close();
    } finally {
      await p.close();
    }
  });

  it('an open racing the last close gets a working store', async () => {
    const p = await openEmbeddedPravega(dir);
    await p.controller.createScope('sc');
    const closing = p.close();
    const q = await openEmbeddedPravega(dir);
    await closing;
    try {
      expect(await q.controller.scopeExists('sc')).toBe(true);
    } finally {
      await q.close();
    }
  });
});
