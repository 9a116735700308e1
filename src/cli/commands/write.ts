import { fstatSync } from 'node:fs';
import type { Command } from 'commander';
import { TributaryError, errorMessage } from '../../errors.js';
import type { Serializer } from '../../pravega/client/serializer.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { parseStreamArg } from '../args.js';
import { withClient } from '../connection.js';
import { contextOf } from '../context.js';
import { formatBytes } from '../output.js';
import { checkInputOptions, LineSplitter, lineToEvent, type LineEvent } from '../ndjson.js';
import { startProgress } from '../progress.js';
import { usageError } from '../usage-error.js';

/**
 * `tributary write <scope/stream>`: one event per stdin line, NDJSON (each line checked to be JSON;
 * `--key-field` picks the routing key) or plain lines. Batched: a chunk of stdin becomes one batch
 * of writes; the command ends when every event is acknowledged.
 */

interface WriteOptions {
  readonly format: string;
  readonly keyField?: string;
  readonly key?: string;
}

const lineEventSerializer: Serializer<LineEvent> = {
  serialize: (e) => Buffer.from(e.payload, 'utf8'),
  deserialize: () => {
    throw new TributaryError('ILLEGAL_STATE', 'the write command only writes');
  },
};

/** Size of stdin when it is a regular file (for the progress bar), else undefined. */
function stdinSize(): number | undefined {
  try {
    const info = fstatSync(0);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

export function registerWrite(program: Command): void {
  program
    .command('write')
    .description('write stdin to a stream, one event per line (NDJSON by default)')
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .option('--format <format>', 'ndjson (each line must be JSON) or lines (any text)', 'ndjson')
    .option('--key-field <path>', 'routing key from this field of each JSON line (a or a.b)')
    .option('--key <key>', 'one routing key for every event')
    .action(async (id: StreamId, opts: WriteOptions, command: Command) => {
      const { out, controller, options } = contextOf(command);
      const format = checkInputOptions(opts.format, opts.keyField);
      if (opts.key !== undefined && opts.keyField !== undefined) {
        throw usageError('--key and --key-field exclude each other');
      }
      const started = Date.now();
      const result = await withClient(controller(), async (client) => {
        const writer = await client.createWriter(id, lineEventSerializer);
        const progress = startProgress('writing', stdinSize(), {
          json: options.json,
          when: process.stdout.isTTY,
          format: formatBytes,
        });
        const splitter = new LineSplitter();
        let lineNumber = 0;
        let events = 0;
        let bytes = 0;
        let readBytes = 0;
        const send = async (batch: LineEvent[]): Promise<void> => {
          if (batch.length === 0) return;
          // failures also surface from flush/close; this catch only keeps the promise handled
          writer.writeBatch(batch, (e) => e.routingKey).catch(() => undefined);
          events += batch.length;
          for (const e of batch) bytes += Buffer.byteLength(e.payload);
          await writer.ready();
        };
        /** Sends the lines' events; at a bad line, sends those before it, then throws. */
        const sendLines = async (lines: string[]): Promise<void> => {
          const batch: LineEvent[] = [];
          try {
            for (const line of lines) {
              const event = lineToEvent(line, ++lineNumber, format, opts.keyField, opts.key);
              if (event) batch.push(event);
            }
          } finally {
            await send(batch);
          }
        };
        try {
          process.stdin.setEncoding('utf8');
          for await (const chunk of process.stdin as AsyncIterable<string>) {
            readBytes += Buffer.byteLength(chunk);
            await sendLines(splitter.push(chunk));
            progress.update(readBytes);
          }
          await sendLines(splitter.end());
          await writer.close();
        } catch (err) {
          await writer.close().catch(() => undefined);
          const written =
            events === 0 ? 'nothing was written' : `the ${events} event(s) before it were written`;
          if (TributaryError.is(err)) {
            throw new TributaryError(err.code, `${err.message} (${written})`, {
              cause: err,
              details: err.details,
            });
          }
          throw new TributaryError('INTERNAL', `${errorMessage(err)} (${written})`, { cause: err });
        } finally {
          progress.stop();
        }
        return { events, bytes };
      });
      const ms = Date.now() - started;
      out.result({ stream: `${id.scope}/${id.stream}`, ...result, ms }, () =>
        out.line(
          `wrote ${result.events} events (${formatBytes(result.bytes)}) to ${id.scope}/${id.stream} in ${ms} ms`,
        ),
      );
    });
}
