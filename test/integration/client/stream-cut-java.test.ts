import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { jsonSerializer } from '../../../src/pravega/client/serializer.js';
import {
  headCut,
  parseStreamCut,
  streamCutToBytes,
  streamCutToText,
  tailCut,
  unboundedCut,
  type StreamCut,
} from '../../../src/pravega/client/stream-cut.js';
import { ensurePravegaJars } from '../../../tools/pravega-server/jars.js';
import { realBackend } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { keysOf, type Seq } from '../../support/sequences.js';

/**
 * Stream cuts between Tributary and the Java client on the real server, both ways: the Java client
 * (java/StreamCutInterop.java) takes the head and tail cuts of a scaled stream, which Tributary
 * reads and writes back to the identical text and bytes; and Java reads the text and bytes of the
 * cuts Tributary takes of the same stream. The embedded store has no Java side.
 */

const PROGRAM = fileURLToPath(new URL('./java/StreamCutInterop.java', import.meta.url));
const run = promisify(execFile);

interface JavaCut {
  readonly text: string;
  readonly hex: string;
  readonly positions: string;
}

/** `scope/stream|id=offset,...` with the segments sorted, as the Java side prints what it read. */
function sortedPositions(cut: StreamCut): string {
  const entries = [...cut.positions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${cut.stream.scope}/${cut.stream.stream}|${entries.map(([s, o]) => `${s}=${o}`).join(',')}`;
}

function inOrder(cut: StreamCut): string {
  return `${cut.stream.scope}/${cut.stream.stream}|${[...cut.positions].map(([s, o]) => `${s}=${o}`).join(',')}`;
}

describe('stream cuts between Tributary and the Java client on the real server', () => {
  const backend = realBackend();
  let client: PravegaClient;
  let logDir: string;
  const scope = randomScope('javacut');

  beforeAll(async () => {
    client = await backend.connect();
    await client.createScope(scope);
    logDir = mkdtempSync(join(tmpdir(), 'tributary-javacut-'));
  });
  afterAll(async () => {
    await backend.cleanup();
    rmSync(logDir, { recursive: true, force: true });
  });

  async function java(args: string[]): Promise<string[]> {
    const install = ensurePravegaJars();
    const logback = join(logDir, 'logback.xml');
    writeFileSync(logback, '<configuration><root level="ERROR"/></configuration>\n');
    const { stdout } = await run(
      install.java,
      [`-Dlogback.configurationFile=${logback}`, '-cp', install.classpath, PROGRAM, ...args],
      // the source launcher compiles the program first: slow on a loaded machine
      { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout.split('\n').filter((l) => /^(head|tail|read)\t/.test(l));
  }

  it("reads the Java client's cuts of a scaled stream and writes them back identical; Java reads Tributary's", async () => {
    const id = { scope, stream: 'scaled' };
    await client.createStream(id, { scalingPolicy: { type: 'fixed', minSegments: 2 } });
    const writer = await client.createWriter(id, jsonSerializer<Seq>());
    const keys = keysOf(32);
    const write = async (from: number, to: number) => {
      for (let i = from; i < to; i++)
        for (const key of keys) void writer.write({ key, seq: i }, key);
      await writer.flush();
    };
    await write(0, 50);
    await client.scaleStream(
      id,
      [0n],
      [
        [0, 0.25],
        [0.25, 0.5],
      ],
    );
    await write(50, 100);
    await writer.close();

    const head = await headCut(client.controller, id);
    const tail = await tailCut(client.controller, client.segmentStore, id);
    // the tail has segments of epoch 1 (id = 1 << 32 | number), with data in them
    expect([...tail.positions.keys()].filter((s) => s >> 32n === 1n)).toHaveLength(2);
    expect([...tail.positions.values()].every((o) => o > 0n)).toBe(true);

    const ours = [tail, head, unboundedCut(id)];
    const lines = await java([
      backend.uri(),
      scope,
      id.stream,
      ...ours.flatMap((c) => [streamCutToText(c), streamCutToBytes(c).toString('hex')]),
    ]);
    expect(lines).toHaveLength(2 + ours.length);
    const [javaHead, javaTail] = lines.slice(0, 2).map((l): JavaCut => {
      const [, text = '', hex = '', positions = ''] = l.split('\t');
      return { text, hex, positions };
    }) as [JavaCut, JavaCut];

    // Java's cuts: the same positions as ours, and written back to the identical text and bytes
    for (const [javaCut, ourCut] of [
      [javaTail, tail],
      [javaHead, head],
    ] as const) {
      const cut = parseStreamCut(javaCut.text, id);
      expect(inOrder(cut)).toBe(javaCut.positions);
      expect(sortedPositions(cut)).toBe(sortedPositions(ourCut));
      expect(streamCutToText(cut)).toBe(javaCut.text);
      expect(streamCutToBytes(cut).toString('hex')).toBe(javaCut.hex);
    }

    // ours, read by Java from text and from bytes alike
    expect(lines.slice(2)).toEqual([
      `read\t${sortedPositions(tail)}\ttrue`,
      `read\t${sortedPositions(head)}\ttrue`,
      'read\tUNBOUNDED\ttrue',
    ]);
  }, 360_000);
});
