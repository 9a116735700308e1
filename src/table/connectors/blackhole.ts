/** `connector = 'blackhole'`: a sink that drops every row (for benchmarks and tests). */
import { z } from 'zod';
import type { DataStream } from '../../runtime/data-stream.js';
import type { Sink } from '../../sink/sink.js';
import { TributaryError } from '../../errors.js';
import { registerTableFactory } from '../factories.js';
import type { ChangeRow, DynamicTableFactory, Row } from '../types.js';
import { parseTableOptions } from './connector-options.js';

const schema = z.object({}).strict();

const discard: Sink<unknown> = {
  createWriter: () => ({
    initialize: () => Promise.resolve(),
    writeBatch: () => undefined,
    snapshotState: () => Promise.resolve([]),
    notifyCheckpointComplete: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }),
};

export const blackholeTableFactory: DynamicTableFactory = {
  identifier: 'blackhole',
  validate(table, use) {
    if (use === 'source') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the blackhole connector is a sink only`,
      );
    }
    parseTableOptions(schema, table);
  },
  createSource(_env, table) {
    return Promise.reject(
      new TributaryError(
        'CONFIG_INVALID',
        `table '${table.name}': the blackhole connector is a sink only`,
      ),
    );
  },
  createSink(stream: DataStream<Row> | DataStream<ChangeRow>, table) {
    (stream as DataStream<unknown>).sinkTo(discard, {
      name: `Sink: ${table.name}`,
      uid: `sink-${table.name}`,
    });
    return Promise.resolve();
  },
  isBounded: () => false,
};

registerTableFactory(blackholeTableFactory);
