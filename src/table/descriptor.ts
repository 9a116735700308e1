/**
 * FLIP-129 table descriptors: a table's schema and options built in code instead of `CREATE TABLE`.
 *
 *     TableDescriptor.forConnector('pravega')
 *       .schema(Schema.newBuilder()
 *         .column('a', 'INT')
 *         .columnByExpression('b', 'a + 1')
 *         .columnByMetadata('ptr', 'BYTES', 'event_pointer')
 *         .watermark('ts', "ts - INTERVAL '5' SECOND")
 *         .build())
 *       .option('scope', 'x')
 *       .format('json')
 *       .build()
 *
 * gives the table without its name (`TableEnvironment.createTemporaryTable(name, descriptor)`).
 */
import { TributaryError } from '../errors.js';
import { parseDataType } from './data-types.js';
import type { Column, DataType, ResolvedTable, TableSchema, WatermarkSpec } from './types.js';

export type TableDefinition = Omit<ResolvedTable, 'name'>;

function invalid(message: string): TributaryError {
  return new TributaryError('CONFIG_INVALID', message);
}

function typeOf(type: string | DataType, where: string): DataType {
  if (typeof type !== 'string') return type;
  try {
    return parseDataType(type);
  } catch (err) {
    throw invalid(`${where}: ${(err as Error).message}`);
  }
}

function nameOf(name: string, where: string): string {
  if (typeof name !== 'string' || name.trim() === '')
    throw invalid(`${where}: a column name must be a non-empty string`);
  return name;
}

export class SchemaBuilder {
  private readonly columns: Column[] = [];
  private watermarkSpec: WatermarkSpec | undefined;
  private primaryKeyColumns: readonly string[] | undefined;

  private add(column: Column): this {
    if (this.columns.some((c) => c.name === column.name)) {
      throw invalid(`Schema: column '${column.name}' is declared twice`);
    }
    this.columns.push(column);
    return this;
  }

  /** A physical column (`type`: Flink's type text such as `'DECIMAL(10, 2) NOT NULL'`). */
  column(name: string, type: string | DataType): this {
    const n = nameOf(name, 'Schema.column');
    return this.add({ kind: 'physical', name: n, type: typeOf(type, `Schema.column('${n}')`) });
  }

  /** A computed column: `name AS expression` (SQL text, evaluated by the SQL layer). */
  columnByExpression(name: string, expression: string): this {
    const n = nameOf(name, 'Schema.columnByExpression');
    if (typeof expression !== 'string' || expression.trim() === '') {
      throw invalid(`Schema.columnByExpression('${n}'): the expression must be non-empty SQL text`);
    }
    return this.add({ kind: 'computed', name: n, expression });
  }

  /** A metadata column: `name TYPE METADATA [FROM key] [VIRTUAL]` (key defaults to the name). */
  columnByMetadata(name: string, type: string | DataType, key?: string, isVirtual = false): this {
    const n = nameOf(name, 'Schema.columnByMetadata');
    return this.add({
      kind: 'metadata',
      name: n,
      type: typeOf(type, `Schema.columnByMetadata('${n}')`),
      key: key ?? n,
      virtual: isVirtual,
    });
  }

  /** `WATERMARK FOR column AS expression`. */
  watermark(column: string, expression: string): this {
    if (this.watermarkSpec !== undefined)
      throw invalid('Schema.watermark: a table has one watermark');
    if (typeof expression !== 'string' || expression.trim() === '') {
      throw invalid(`Schema.watermark('${column}'): the expression must be non-empty SQL text`);
    }
    this.watermarkSpec = { column, expression };
    return this;
  }

  primaryKey(...columns: string[]): this {
    if (columns.length === 0) throw invalid('Schema.primaryKey: name at least one column');
    this.primaryKeyColumns = columns;
    return this;
  }

  build(): TableSchema {
    const wm = this.watermarkSpec;
    if (wm !== undefined) {
      const col = this.columns.find((c) => c.name === wm.column);
      if (col === undefined)
        throw invalid(`Schema.watermark: column '${wm.column}' is not declared`);
      if (
        col.kind !== 'computed' &&
        col.type.root !== 'TIMESTAMP' &&
        col.type.root !== 'TIMESTAMP_LTZ'
      ) {
        throw invalid(
          `Schema.watermark: column '${wm.column}' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3)`,
        );
      }
    }
    for (const k of this.primaryKeyColumns ?? []) {
      const col = this.columns.find((c) => c.name === k);
      if (col === undefined) throw invalid(`Schema.primaryKey: column '${k}' is not declared`);
      if (col.kind !== 'physical')
        throw invalid(`Schema.primaryKey: column '${k}' is not a physical column`);
    }
    return {
      columns: [...this.columns],
      ...(wm ? { watermark: wm } : {}),
      ...(this.primaryKeyColumns ? { primaryKey: [...this.primaryKeyColumns] } : {}),
    };
  }
}

export const Schema = {
  newBuilder: (): SchemaBuilder => new SchemaBuilder(),
};

export class TableDescriptorBuilder {
  private tableSchema: TableSchema | undefined;
  private readonly options: Record<string, string> = {};
  private tableComment: string | undefined;

  constructor(connector: string) {
    this.options['connector'] = connector;
  }

  schema(schema: TableSchema): this {
    this.tableSchema = schema;
    return this;
  }

  /** A `WITH` option; values are kept as Flink's text (numbers and booleans are written out). */
  option(key: string, value: string | number | boolean): this {
    if (typeof key !== 'string' || key === '')
      throw invalid('TableDescriptor.option: the key must be a non-empty string');
    this.options[key] = String(value);
    return this;
  }

  /** `format = id` plus the format's options given without their prefix (`{ 'ignore-parse-errors': true }`). */
  format(id: string, options: Readonly<Record<string, string | number | boolean>> = {}): this {
    this.options['format'] = id;
    for (const [k, v] of Object.entries(options)) this.options[`${id}.${k}`] = String(v);
    return this;
  }

  comment(text: string): this {
    this.tableComment = text;
    return this;
  }

  build(): TableDefinition {
    if (this.tableSchema === undefined) {
      throw invalid(
        `TableDescriptor(${this.options['connector']}): a schema is required (.schema(Schema.newBuilder()…build()))`,
      );
    }
    return {
      schema: this.tableSchema,
      options: { ...this.options },
      ...(this.tableComment !== undefined ? { comment: this.tableComment } : {}),
    };
  }
}

export const TableDescriptor = {
  forConnector: (connector: string): TableDescriptorBuilder => {
    if (typeof connector !== 'string' || connector === '') {
      throw invalid(
        'TableDescriptor.forConnector: the connector identifier must be a non-empty string',
      );
    }
    return new TableDescriptorBuilder(connector);
  },
};
