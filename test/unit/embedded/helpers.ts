import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedOptions, EmbeddedPravega } from '../../../src/pravega/embedded/index.js';
import { openEmbeddedPravega } from '../../../src/pravega/embedded/index.js';
import type { SegmentStore } from '../../../src/pravega/segment/segment-store.js';

/** A fresh temporary directory; `cleanup` removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-embedded-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Opens a store in a temp dir; `done` closes it and removes the directory. */
export async function withStore(options?: EmbeddedOptions): Promise<{
  p: EmbeddedPravega;
  dir: string;
  reopen: (o?: EmbeddedOptions) => Promise<EmbeddedPravega>;
  done: () => Promise<void>;
}> {
  const { dir, cleanup } = await tempDir();
  const data = join(dir, 'data');
  const state = { p: await openEmbeddedPravega(data, options) };
  return {
    get p() {
      return state.p;
    },
    dir: data,
    reopen: async (o?: EmbeddedOptions) => {
      await state.p.close();
      state.p = await openEmbeddedPravega(data, o ?? options);
      return state.p;
    },
    done: async () => {
      await state.p.close();
      await cleanup();
    },
  };
}

/** `[int32 0][int32 len][payload]`, as the Pravega client frames an event. */
export function frame(payload: string | Buffer): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const b = Buffer.alloc(8 + p.length);
  b.writeInt32BE(0, 0);
  b.writeInt32BE(p.length, 4);
  p.copy(b, 8);
  return b;
}

export function frameAll(payloads: readonly string[]): Buffer {
  return Buffer.concat(payloads.map((p) => frame(p)));
}

/** Splits segment bytes back into event payloads; throws on anything but whole events. */
export function unframe(data: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 8 > data.length) throw new Error(`partial event header at ${at}`);
    if (data.readInt32BE(at) !== 0) throw new Error(`bad event type at ${at}`);
    const len = data.readInt32BE(at + 4);
    if (at + 8 + len > data.length) throw new Error(`partial event at ${at}`);
    out.push(data.toString('utf8', at + 8, at + 8 + len));
    at += 8 + len;
  }
  return out;
}

/** Reads a segment from `from` to its current (durable) length. */
export async function readAll(store: SegmentStore, segment: string, from = 0n): Promise<Buffer> {
  const info = await store.getInfo(segment);
  const parts: Buffer[] = [];
  let offset = from < info.startOffset ? info.startOffset : from;
  while (offset < info.length) {
    const r = await store.read(segment, offset, 1 << 20);
    parts.push(r.data);
    offset += BigInt(r.data.length);
  }
  return Buffer.concat(parts);
}

export async function readEvents(store: SegmentStore, segment: string): Promise<string[]> {
  return unframe(await readAll(store, segment));
}

/** Waits until `check` is true, polling; fails after `limitMs` (a bound, not a timing claim). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  limitMs = 60_000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Recorder {
  acks: [bigint, bigint][];
  failures: Error[];
  handlers: { onAck(n: bigint, prev: bigint): void; onFailure(e: Error): void };
  lastAck(): bigint | undefined;
}

export function recorder(): Recorder {
  const r: Recorder = {
    acks: [],
    failures: [],
    handlers: {
      onAck: (n, prev) => r.acks.push([n, prev]),
      onFailure: (e) => r.failures.push(e),
    },
    lastAck: () => r.acks[r.acks.length - 1]?.[0],
  };
  return r;
}
