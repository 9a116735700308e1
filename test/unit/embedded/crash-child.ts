/**
 * A child process for the crash tests: it writes to an embedded store through the SegmentStore
 * API and is killed with SIGKILL by the test. It reports on stdout only what was acknowledged.
 *
 *   fixed <dir> <segment> <from> <to>   append event-<from>..event-<to> (one writer "w"), print
 *                                       "acked" once all are acknowledged, then idle
 *   random <dir> <segments> <seed>      append `<key>:<n>` events to each segment forever, in blocks
 *                                       of random size with many in flight; print "ack <key> <n>"
 *                                       after each ack
 */
import { openEmbeddedPravega } from '../../../src/pravega/embedded/index.js';

function frame(payload: string): Buffer {
  const p = Buffer.from(payload);
  const b = Buffer.alloc(8 + p.length);
  b.writeInt32BE(0, 0);
  b.writeInt32BE(p.length, 4);
  p.copy(b, 8);
  return b;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const [mode, dir = '', ...rest] = process.argv.slice(2);
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const keepAlive = setInterval(() => {}, 60_000);

if (mode === 'fixed') {
  const [segment = '', fromText = '1', toText = '1'] = rest;
  const from = Number(fromText);
  const to = Number(toText);
  const p = await openEmbeddedPravega(dir, { maxLogFileBytes: 1024 * 1024 });
  await p.segmentStore.createSegment(segment);
  const s = await p.segmentStore.openAppendSession(segment, 'w', {
    onAck: (n) => {
      if (n === BigInt(to)) out('acked');
    },
    onFailure: (e) => {
      console.error(e);
      process.exit(3);
    },
  });
  for (let i = from; i <= to; i++) s.append(frame(`event-${i}`), 1, BigInt(i));
} else if (mode === 'random') {
  const [segmentsText = '3', seedText = '1'] = rest;
  const random = rng(Number(seedText));
  const p = await openEmbeddedPravega(dir, { maxLogFileBytes: 256 * 1024 });
  const keys = Array.from({ length: Number(segmentsText) }, (_, i) => `k${i}`);
  for (const key of keys) {
    const segment = `crash/test/${key}`;
    await p.segmentStore.createSegment(segment);
    let inFlight = 0;
    let next = 1n;
    const session = await p.segmentStore.openAppendSession(segment, `writer-${key}`, {
      onAck: (n) => {
        inFlight = Number(next - 1n - n);
        out(`ack ${key} ${n}`);
        pump();
      },
      onFailure: (e) => {
        console.error(e);
        process.exit(3);
      },
    });
    const last = session.lastEventNumber ?? 0n;
    // resend the last stored events as a reconnecting writer might: they must not be written again
    if (last >= 2n) {
      session.append(
        Buffer.concat([frame(`${key}:${last - 1n}`), frame(`${key}:${last}`)]),
        2,
        last,
      );
    }
    next = last + 1n;
    const pump = (): void => {
      while (inFlight < 2000) {
        const count = 1 + Math.floor(random() * 40);
        const events: Buffer[] = [];
        for (let i = 0; i < count; i++) events.push(frame(`${key}:${next + BigInt(i)}`));
        next += BigInt(count);
        inFlight += count;
        session.append(Buffer.concat(events), count, next - 1n);
      }
    };
    pump();
  }
  out('ready');
} else {
  clearInterval(keepAlive);
  throw new Error(`unknown mode ${String(mode)}`);
}
