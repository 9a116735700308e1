/**
 * The `connector = 'pravega'` table factory (FLIP-95 shape): a table's options become a
 * {@link PravegaSource} (streaming: a reader group with delegated checkpoints; `scan.execution.type
 * = batch`: the batch source between the cuts, which finishes) or a {@link PravegaSink}
 * (`sink.semantic`). The format decodes inside the source's deserialization, and the SQL layer's
 * hooks (projection, event time) run there too — no extra operators. Readable metadata:
 * `event_pointer` (BYTES), the event's Java `EventPointer.toBytes()`.
 */
import { TributaryError } from '../../errors.js';
import type { DataStream } from '../../runtime/data-stream.js';
import type { StreamEnvironment } from '../../runtime/stream-environment.js';
import { WatermarkStrategy } from '../../runtime/watermark-strategy.js';
import type { SourceEvent } from '../../source/pravega/event-pointer.js';
import { PravegaSource } from '../../source/pravega/pravega-source.js';
import { PravegaSink } from '../../sink/pravega/pravega-sink.js';
import { formatDataType } from '../data-types.js';
import { findFormat, registerTableFactory } from '../factories.js';
import { parsePravegaOptions, type PravegaTableOptions } from '../options/pravega-options.js';
import type {
  ChangeRow,
  DynamicTableFactory,
  FormatContext,
  ResolvedTable,
  Row,
  TableSourceHooks,
  TableSourceResult,
} from '../types.js';

/** The connector's readable metadata keys and their types. */
export const PRAVEGA_METADATA = { event_pointer: 'BYTES' } as const;

const STRING_ROOTS = new Set(['STRING', 'VARCHAR', 'CHAR']);

function physicalColumns(table: ResolvedTable): FormatContext['columns'] {
  return table.schema.columns.flatMap((c) =>
    c.kind === 'physical' ? [{ name: c.name, type: c.type }] : [],
  );
}

function metadataColumns(
  table: ResolvedTable,
  use: 'source' | 'sink',
): { name: string; key: string }[] {
  const out: { name: string; key: string }[] = [];
  for (const c of table.schema.columns) {
    if (c.kind !== 'metadata') continue;
    if (!(c.key in PRAVEGA_METADATA)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table ${table.name}: column '${c.name}': '${c.key}' is not a metadata key of the pravega connector (it has: ${Object.keys(PRAVEGA_METADATA).join(', ')})`,
      );
    }
    if (c.type.root !== 'BYTES' && c.type.root !== 'VARBINARY') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table ${table.name}: column '${c.name}': metadata '${c.key}' is BYTES, not ${formatDataType(c.type)}`,
      );
    }
    if (use === 'sink' && !c.virtual) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table ${table.name}: column '${c.name}': metadata '${c.key}' is read-only; declare it VIRTUAL to write to the table`,
      );
    }
    out.push({ name: c.name, key: c.key });
  }
  return out;
}

/** The table's options, checked (the format must be registered). */
export function resolvePravegaTable(
  table: ResolvedTable,
  use: 'source' | 'sink',
): PravegaTableOptions {
  const formatId = table.options['format'];
  const format = formatId === undefined ? undefined : findFormat(formatId, `table ${table.name}`);
  const strings = new Set(
    physicalColumns(table)
      .filter((c) => STRING_ROOTS.has(c.type.root))
      .map((c) => c.name),
  );
  const options = parsePravegaOptions(table, use, format?.optionKeys ?? [], strings);
  metadataColumns(table, use);
  return options;
}

function formatContext(table: ResolvedTable): FormatContext {
  return { tableName: table.name, columns: physicalColumns(table), options: table.options };
}

/** A name usable as an operator uid from a table name. */
function uidOf(name: string): string {
  return `table-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

export const pravegaTableFactory: DynamicTableFactory = {
  identifier: 'pravega',

  validate(table, use) {
    resolvePravegaTable(table, use);
  },

  isBounded(table) {
    const o = resolvePravegaTable(table, 'source');
    return o.scan.executionType === 'batch' || o.scan.streams.every((s) => s.end !== undefined);
  },

  async createSource(
    env: StreamEnvironment,
    table: ResolvedTable,
    hooks: TableSourceHooks = {},
  ): Promise<TableSourceResult> {
    const o = resolvePravegaTable(table, 'source');
    const decoder = await findFormat(o.format, `table ${table.name}`).createDecoder(
      formatContext(table),
    );
    const metadata = metadataColumns(table, 'source');
    const project = hooks.project;
    const finish = (row: Row, event: SourceEvent): Row => {
      let out = row;
      if (metadata.length > 0) {
        const pointer = event.pointer();
        out = { ...row };
        for (const m of metadata) out[m.name] = pointer;
      }
      return project ? project(out) : out;
    };
    let source: PravegaSource<Buffer> | undefined;
    for (const s of o.scan.streams) {
      const cuts = { ...(s.start ? { start: s.start } : {}), ...(s.end ? { end: s.end } : {}) };
      source =
        source === undefined
          ? PravegaSource.forStream(s.stream, cuts)
          : source.forStream(s.stream, cuts);
    }
    if (source === undefined) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table ${table.name}: option 'scan.streams': no stream to read`,
      );
    }
    source = source.withPravega(o.connection).readerGroup({
      scope: o.scope,
      ...(o.scan.readerGroupName !== undefined ? { name: o.scan.readerGroupName } : {}),
      maxOutstandingCheckpoints: o.scan.maxOutstandingCheckpoints,
    });
    const name = hooks.name ?? table.name;
    const uid = o.scan.uid ?? uidOf(name);
    const eventTime = hooks.eventTime;
    const strategy = <T>(): WatermarkStrategy<T> | undefined => {
      if (eventTime === undefined) return undefined;
      const s = WatermarkStrategy.forBoundedOutOfOrderness<T>(eventTime.maxOutOfOrdernessMs);
      return eventTime.idleTimeoutMs !== undefined ? s.withIdleness(eventTime.idleTimeoutMs) : s;
    };
    const batch = o.scan.executionType === 'batch';
    const open = <T>(src: PravegaSource<T>): DataStream<T> => {
      const watermarkStrategy = strategy<T>();
      const options = { name, uid, ...(watermarkStrategy ? { watermarkStrategy } : {}) };
      return batch ? env.fromSource(src.batch(), options) : env.fromSource(src, options);
    };
    if (decoder.changelogMode === 'insert-only') {
      let rows = source.eventDeserializer<Row>((payload, event) =>
        (decoder.decode(payload) as Row[]).map((r) => finish(r, event)),
      );
      if (eventTime) rows = rows.timestamps(eventTime.timestamp);
      return { changelogMode: 'insert-only', stream: open(rows) };
    }
    let changes = source.eventDeserializer<ChangeRow>((payload, event) =>
      (decoder.decode(payload) as ChangeRow[]).map((c) => ({
        kind: c.kind,
        row: finish(c.row, event),
      })),
    );
    if (eventTime) changes = changes.timestamps((c) => eventTime.timestamp(c.row));
    return { changelogMode: 'all', stream: open(changes) };
  },

  async createSink(
    stream: DataStream<Row> | DataStream<ChangeRow>,
    table: ResolvedTable,
    changelog: boolean,
  ): Promise<void> {
    const o = resolvePravegaTable(table, 'sink');
    const encoder = await findFormat(o.format, `table ${table.name}`).createEncoder(
      formatContext(table),
    );
    if (changelog && !encoder.acceptsChanges) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table ${table.name}: option 'format': '${o.format}' writes inserts only, but the query produces updates and deletes (use a changelog format such as 'debezium-json')`,
      );
    }
    const target = o.sink.stream!;
    type Item = Row | ChangeRow;
    const rowOf = (item: Item): Row => (changelog ? (item as ChangeRow).row : (item as Row));
    let sink = PravegaSink.forStream(target)
      .serializer<Item>({
        serialize: (item) =>
          changelog
            ? encoder.encode((item as ChangeRow).row, (item as ChangeRow).kind)
            : encoder.encode(item as Row, '+I'),
        deserialize: () => {
          throw new TributaryError(
            'ILLEGAL_STATE',
            `table ${table.name}: the table sink only writes`,
          );
        },
      })
      .withPravega(o.connection);
    const field = o.sink.routingKeyField;
    if (field !== undefined) {
      sink = sink.routingKey((item) => {
        const v = rowOf(item)[field];
        return typeof v === 'string' ? v : undefined;
      });
    }
    sink =
      o.sink.semantic === 'exactly-once'
        ? sink.exactlyOnce(o.sink.leaseMs !== undefined ? { leaseMs: o.sink.leaseMs } : {})
        : o.sink.semantic === 'best-effort'
          ? sink.bestEffort()
          : sink.atLeastOnce();
    (stream as DataStream<Item>).sinkTo(sink, {
      name: `${table.name} sink`,
      uid: `${uidOf(table.name)}-sink`,
    });
  },
};

registerTableFactory(pravegaTableFactory);
