/**
 * `connector = 'print'`: writes rows as Flink prints them, `+I[1, abc]` (with `print-identifier`
 * as a prefix `id> ` and the subtask `id:2> ` when parallel), to stdout or, with
 * `standard-error = 'true'`, stderr. Not transactional (a restart may print rows again).
 */
import { z } from 'zod';
import type { DataStream } from '../../runtime/data-stream.js';
import type { Sink } from '../../sink/sink.js';
import { TributaryError } from '../../errors.js';
import { registerTableFactory } from '../factories.js';
import type { ChangeRow, DynamicTableFactory, Row } from '../types.js';
import { formatTimestamp } from '../sql/scalar-functions.js';
import { parseTableOptions } from './connector-options.js';

const schema = z
  .object({
    'print-identifier': z.string().optional(),
    'standard-error': z.enum(['true', 'false']).default('false'),
  })
  .strict();

/** One value as Flink's row toString shows it. */
function show(v: unknown, root: string | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (Buffer.isBuffer(v)) return `[${[...v].join(', ')}]`;
  if (typeof v === 'number' && (root === 'TIMESTAMP' || root === 'TIMESTAMP_LTZ')) {
    return formatTimestamp(v, 'yyyy-MM-ddTHH:mm:ss.SSS');
  }
  if (typeof v === 'number' && root === 'DATE')
    return formatTimestamp(v * 86_400_000, 'yyyy-MM-dd');
  if (typeof v === 'object') return JSON.stringify(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `+I[1, abc]` for a row of the given columns. */
export function formatPrintedRow(
  kind: string,
  row: Row,
  columns: readonly { name: string; root?: string }[],
): string {
  return `${kind}[${columns.map((c) => show(row[c.name], c.root)).join(', ')}]`;
}

export const printTableFactory: DynamicTableFactory = {
  identifier: 'print',
  validate(table, use) {
    if (use === 'source') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the print connector is a sink only`,
      );
    }
    parseTableOptions(schema, table);
  },
  createSource(_env, table) {
    return Promise.reject(
      new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the print connector is a sink only`,
      ),
    );
  },
  createSink(stream: DataStream<Row> | DataStream<ChangeRow>, table, changelog) {
    const options = parseTableOptions(schema, table);
    const columns = table.schema.columns.flatMap((c) =>
      c.kind === 'computed' || (c.kind === 'metadata' && c.virtual)
        ? []
        : [{ name: c.name, root: c.type.root }],
    );
    const out = options['standard-error'] === 'true' ? process.stderr : process.stdout;
    const sink: Sink<Row | ChangeRow> = {
      createWriter: (ctx) => {
        const id = options['print-identifier'];
        const prefix =
          id !== undefined
            ? ctx.parallelism > 1
              ? `${id}:${ctx.subtask + 1}> `
              : `${id}> `
            : ctx.parallelism > 1
              ? `${ctx.subtask + 1}> `
              : '';
        return {
          initialize: () => Promise.resolve(),
          writeBatch: (records) => {
            const lines = records.map((r) =>
              changelog
                ? prefix + formatPrintedRow((r as ChangeRow).kind, (r as ChangeRow).row, columns)
                : prefix + formatPrintedRow('+I', r as Row, columns),
            );
            if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
          },
          snapshotState: () => Promise.resolve([]),
          notifyCheckpointComplete: () => Promise.resolve(),
          close: () => Promise.resolve(),
        };
      },
    };
    (stream as DataStream<Row | ChangeRow>).sinkTo(sink, {
      name: `Sink: ${table.name}`,
      uid: `sink-${table.name}`,
    });
    return Promise.resolve();
  },
  isBounded: () => false,
};

registerTableFactory(printTableFactory);
