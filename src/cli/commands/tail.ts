import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { bytesSerializer } from '../../pravega/client/serializer.js';
import { SegmentReader } from '../../pravega/client/segment-reader.js';
import { headCut, tailCut, type StreamCut } from '../../pravega/client/stream-cut.js';
import type { PravegaClient } from '../../pravega/client/pravega-client.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { intOption, parseStartPoint, parseStreamArg, type StartPoint } from '../args.js';
import { withClient } from '../connection.js';
import { contextOf } from '../context.js';
import { formatBytes, type Output } from '../output.js';
import { startProgress } from '../progress.js';

/**
 * `tributary tail <scope/stream> [--from head|tail|<cut>] [--follow] [--limit n]`: prints events
 * as UTF-8 lines (with --json one object per event: segment, offset, text). Without --follow it
 * reads up to the tail as of the start and exits; with it, it waits for new events until Ctrl-C.
 * Events of one routing key come out in the order they were written.
 */

interface TailOptions {
  readonly from: string;
  readonly follow: boolean;
  readonly limit?: number;
}

/** How long one poll of a followed stream waits for events before looking again. */
const FOLLOW_POLL_MS = 1_000;

export function registerTail(program: Command): void {
  program
    .command('tail')
    .description('print the events of a stream (UTF-8 lines; --json: one object per event)')
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .option('--from <where>', 'head, tail, or a stream cut printed by `tributary cut`', 'head')
    .option('-f, --follow', 'keep waiting for new events until Ctrl-C', false)
    .option('-n, --limit <n>', 'stop after this many events', intOption('--limit', 1))
    .action(async (id: StreamId, opts: TailOptions, command: Command) => {
      const { out, controller, options } = contextOf(command);
      const start = parseStartPoint(opts.from, id);
      await withClient(controller(), async (client) => {
        const printer = eventPrinter(out, opts.limit);
        if (opts.follow) await follow(client, id, start, printer);
        else await readToTail(client, id, start, printer, options.json);
      });
    });
}

interface Printer {
  /** prints; false once the limit is reached */
  print(segment: string, offset: number, data: Buffer): boolean;
  readonly done: boolean;
}

function eventPrinter(out: Output, limit: number | undefined): Printer {
  let printed = 0;
  const max = limit ?? Number.POSITIVE_INFINITY;
  return {
    print(segment, offset, data) {
      if (printed >= max) return false;
      const text = data.toString('utf8');
      if (out.json) out.jsonLine({ segment, offset, text });
      else process.stdout.write(`${text}\n`);
      return ++printed < max;
    },
    get done() {
      return printed >= max;
    },
  };
}

async function startCut(
  client: PravegaClient,
  id: StreamId,
  start: StartPoint,
): Promise<StreamCut> {
  switch (start.kind) {
    case 'head':
      return headCut(client.controller, id);
    case 'tail':
      return tailCut(client.controller, client.segmentStore, id);
    case 'cut':
      return start.cut;
  }
}

/** Segment ranges up to the tail as of now, read one after the other in segment-id order. */
async function readToTail(
  client: PravegaClient,
  id: StreamId,
  start: StartPoint,
  printer: Printer,
  json: boolean,
): Promise<void> {
  const from = await startCut(client, id, start);
  const to = await tailCut(client.controller, client.segmentStore, id);
  if (start.kind === 'tail') return;
  const ranges = await client.batchClient().listSegmentRanges(id, from, to);
  const total = ranges.reduce((sum, r) => sum + Number(r.endOffset - r.startOffset), 0);
  // events go to stdout: a bar only when they are redirected and a person watches stderr
  const progress = startProgress('reading', total, {
    json,
    when: !process.stdout.isTTY,
    format: formatBytes,
  });
  let done = 0;
  try {
    for (const range of ranges) {
      const reader = new SegmentReader(client.segmentStore, range.segment, range.startOffset, {
        endOffset: range.endOffset,
      });
      try {
        for (;;) {
          const batch = await reader.next();
          for (const e of batch.events) {
            if (!printer.print(range.segment, e.offset, e.data)) return;
            done = e.nextOffset - Number(range.startOffset);
          }
          progress.update(done);
          if (batch.end) break;
        }
      } finally {
        reader.close();
      }
    }
  } finally {
    progress.stop();
  }
}

/** One reader over the whole stream (successors after their predecessors) until Ctrl-C. */
async function follow(
  client: PravegaClient,
  id: StreamId,
  start: StartPoint,
  printer: Printer,
): Promise<void> {
  const from = start.kind === 'head' ? undefined : (await startCut(client, id, start)).positions;
  const scanner = await client.scanStream(id, bytesSerializer, from);
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopping.signal.aborted && !printer.done) {
      const began = Date.now();
      const batch = await scanner.nextBatch(FOLLOW_POLL_MS);
      for (const e of batch) {
        if (!printer.print(e.segment, e.offset, e.value)) break;
      }
      // a fully read sealed stream answers at once: poll it at the same pace as a quiet one
      const left = FOLLOW_POLL_MS - (Date.now() - began);
      if (batch.length === 0 && left > 0) {
        await sleep(left, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    scanner.close();
  }
}
