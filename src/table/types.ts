/**
 * The contract inside `src/table/` (the Table API, SQL and catalog). The pieces are built side by
 * side: options + formats + the Pravega table factory (`src/table/connector/`, `src/table/formats/`),
 * the TableEnvironment + SQL (`src/table/sql/`, `src/table/table-environment.ts`) and the catalog
 * (`src/table/catalog/`). They meet only through the types below; change them only together.
 *
 * Values inside a {@link Row}, per Flink type (what every format decodes to and encodes from,
 * what SQL expressions compute with, what keyed state holds — all JSON-safe):
 *
 * | Flink type | JS value |
 * |---|---|
 * | BOOLEAN | boolean |
 * | TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s) | number (BIGINT beyond 2^53 is an error, never rounded silently) |
 * | CHAR(n), VARCHAR(n), STRING | string |
 * | BINARY(n), VARBINARY(n), BYTES | base64 string inside state, `Buffer` in rows |
 * | DATE | number: days since 1970-01-01 |
 * | TIME(p) | number: milliseconds of the day |
 * | TIMESTAMP(p), TIMESTAMP_LTZ(p) | number: epoch milliseconds (UTC) |
 * | ARRAY<T> | array; MAP<K,V> | plain object (string keys); ROW<...> | plain object |
 * | NULL of any type | null |
 */
import type { DataStream } from '../runtime/data-stream.js';
import type { StreamEnvironment } from '../runtime/stream-environment.js';

/** Flink's logical type roots, spelled as in Flink SQL. */
export type TypeRoot =
  | 'BOOLEAN'
  | 'TINYINT'
  | 'SMALLINT'
  | 'INT'
  | 'BIGINT'
  | 'FLOAT'
  | 'DOUBLE'
  | 'DECIMAL'
  | 'CHAR'
  | 'VARCHAR'
  | 'STRING'
  | 'BINARY'
  | 'VARBINARY'
  | 'BYTES'
  | 'DATE'
  | 'TIME'
  | 'TIMESTAMP'
  | 'TIMESTAMP_LTZ'
  | 'ARRAY'
  | 'MAP'
  | 'ROW';

export interface DataType {
  readonly root: TypeRoot;
  readonly nullable: boolean;
  /** CHAR/VARCHAR/BINARY/VARBINARY length; DECIMAL/TIME/TIMESTAMP precision */
  readonly precision?: number;
  /** DECIMAL scale */
  readonly scale?: number;
  /** ARRAY element */
  readonly element?: DataType;
  /** MAP key and value */
  readonly key?: DataType;
  readonly value?: DataType;
  /** ROW fields */
  readonly fields?: readonly { readonly name: string; readonly type: DataType }[];
  /** TIMESTAMP(3) declared as the table's event-time attribute (`*ROWTIME*` in Flink's EXPLAIN) */
  readonly rowtime?: boolean;
}

export type Column =
  | { readonly kind: 'physical'; readonly name: string; readonly type: DataType }
  /** `name AS <expression>`: SQL text, evaluated by the SQL layer on every row */
  | {
      readonly kind: 'computed';
      readonly name: string;
      readonly expression: string;
      /** known once the SQL layer has typed the expression */
      readonly type?: DataType;
    }
  /** `name TYPE METADATA [FROM 'key'] [VIRTUAL]`; key defaults to the column name */
  | {
      readonly kind: 'metadata';
      readonly name: string;
      readonly type: DataType;
      readonly key: string;
      readonly virtual: boolean;
    };

export interface WatermarkSpec {
  /** the event-time column */
  readonly column: string;
  /** SQL text, e.g. "ts - INTERVAL '5' SECOND" */
  readonly expression: string;
}

export interface TableSchema {
  readonly columns: readonly Column[];
  readonly watermark?: WatermarkSpec;
  readonly primaryKey?: readonly string[];
}

/** A table as the factories see it: its identifier, schema and `WITH` options (string → string). */
export interface ResolvedTable {
  /** `catalog.database.table` (or the bare name of a temporary table) for messages */
  readonly name: string;
  readonly schema: TableSchema;
  readonly options: Readonly<Record<string, string>>;
  readonly comment?: string;
}

/** Column name → value (see the module comment for the value of each type). */
export type Row = Record<string, unknown>;

/** Flink's RowKind short strings. */
export type RowKind = '+I' | '-U' | '+U' | '-D';

/** One change of a changelog (`debezium-json` and the like). */
export interface ChangeRow {
  readonly kind: RowKind;
  readonly row: Row;
}

/**
 * What a table source gives the planner: rows holding the physical columns and the requested
 * metadata columns (computed columns and the watermark are the SQL layer's: see hooks).
 */
export type TableSourceResult =
  | { readonly changelogMode: 'insert-only'; readonly stream: DataStream<Row> }
  | { readonly changelogMode: 'all'; readonly stream: DataStream<ChangeRow> };

/** What the SQL layer asks a source to do on each row, inside the source (no extra operator). */
export interface TableSourceHooks {
  /** adds computed columns (and may drop virtual ones); runs before `eventTime` */
  readonly project?: (row: Row) => Row;
  /** event time (epoch ms) of a row and the bounded out-of-orderness of its watermark */
  readonly eventTime?: {
    readonly timestamp: (row: Row) => number;
    readonly maxOutOfOrdernessMs: number;
    readonly idleTimeoutMs?: number;
  };
  /** the operator name/uid prefix to use (default: the table name) */
  readonly name?: string;
}

/** A connector's table factory (`connector = '<identifier>'`). */
export interface DynamicTableFactory {
  readonly identifier: string;
  /** Checks the options against the schema; throws a CONFIG_INVALID TributaryError naming the key. */
  validate(table: ResolvedTable, use: 'source' | 'sink'): void;
  createSource(
    env: StreamEnvironment,
    table: ResolvedTable,
    hooks?: TableSourceHooks,
  ): Promise<TableSourceResult>;
  /** Ends `stream` in the table; `changelog` says whether rows are ChangeRows. */
  createSink(
    stream: DataStream<Row> | DataStream<ChangeRow>,
    table: ResolvedTable,
    changelog: boolean,
  ): Promise<void>;
  /** Whether the table's source is bounded (batch execution, or end cuts on every stream). */
  isBounded(table: ResolvedTable): boolean;
}

/** Context a format gets: the physical columns it reads or writes, its options, the table. */
export interface FormatContext {
  readonly tableName: string;
  readonly columns: readonly { readonly name: string; readonly type: DataType }[];
  /** all table options (a format reads its own `<identifier>.*` keys) */
  readonly options: Readonly<Record<string, string>>;
}

export interface FormatDecoder {
  readonly changelogMode: 'insert-only' | 'all';
  /** One event → rows (insert-only) or changes; [] to skip; throws on a malformed event. */
  decode(payload: Buffer): Row[] | ChangeRow[];
}

export interface FormatEncoder {
  /** Whether it can write -U/+U/-D (otherwise the planner refuses updating input). */
  readonly acceptsChanges: boolean;
  encode(row: Row, kind: RowKind): Buffer;
}

/** A format (`format = '<identifier>'`): option keys it owns, validation, codecs. */
export interface FormatFactory {
  readonly identifier: string;
  /** every option key it accepts, spelled in full (`json.ignore-parse-errors`) */
  readonly optionKeys: readonly string[];
  /** may fetch what it needs (a registry's schema) before the job starts */
  createDecoder(ctx: FormatContext): Promise<FormatDecoder>;
  createEncoder(ctx: FormatContext): Promise<FormatEncoder>;
}

/** Flink's Catalog, reduced to what CREATE/DROP/USE and name resolution need. */
export interface Catalog {
  readonly name: string;
  readonly defaultDatabase: string;
  open(): Promise<void>;
  close(): Promise<void>;
  listDatabases(): Promise<string[]>;
  databaseExists(database: string): Promise<boolean>;
  createDatabase(database: string, ignoreIfExists: boolean): Promise<void>;
  dropDatabase(database: string, ignoreIfNotExists: boolean, cascade: boolean): Promise<void>;
  listTables(database: string): Promise<string[]>;
  tableExists(database: string, table: string): Promise<boolean>;
  /** The table with the options a factory needs to read and write it. */
  getTable(database: string, table: string): Promise<ResolvedTable>;
  createTable(
    database: string,
    table: string,
    definition: {
      readonly schema: TableSchema;
      readonly options: Readonly<Record<string, string>>;
    },
    ignoreIfExists: boolean,
  ): Promise<void>;
  dropTable(database: string, table: string, ignoreIfNotExists: boolean): Promise<void>;
}

/** Creates a catalog from `CREATE CATALOG c WITH ('type' = '<identifier>', ...)`. */
export interface CatalogFactory {
  readonly identifier: string;
  create(name: string, options: Readonly<Record<string, string>>): Catalog;
}
