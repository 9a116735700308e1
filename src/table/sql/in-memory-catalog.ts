/** Flink's GenericInMemoryCatalog: databases and tables held in memory (`default_catalog`). */
import { TributaryError } from '../../errors.js';
import type { Catalog, ResolvedTable, TableSchema } from '../types.js';

export class InMemoryCatalog implements Catalog {
  private readonly databases = new Map<string, Map<string, ResolvedTable>>();

  constructor(
    readonly name: string,
    readonly defaultDatabase = 'default_database',
  ) {
    this.databases.set(defaultDatabase, new Map());
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private db(database: string): Map<string, ResolvedTable> {
    const db = this.databases.get(database);
    if (db === undefined) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `database '${this.name}.${database}' does not exist; CREATE DATABASE it first`,
      );
    }
    return db;
  }

  listDatabases(): Promise<string[]> {
    return Promise.resolve([...this.databases.keys()].sort());
  }

  databaseExists(database: string): Promise<boolean> {
    return Promise.resolve(this.databases.has(database));
  }

  createDatabase(database: string, ignoreIfExists: boolean): Promise<void> {
    if (this.databases.has(database)) {
      if (ignoreIfExists) return Promise.resolve();
      return Promise.reject(
        new TributaryError(
          'ILLEGAL_ARGUMENT',
          `database '${this.name}.${database}' already exists (use IF NOT EXISTS)`,
        ),
      );
    }
    this.databases.set(database, new Map());
    return Promise.resolve();
  }

  dropDatabase(database: string, ignoreIfNotExists: boolean, cascade: boolean): Promise<void> {
    const db = this.databases.get(database);
    if (db === undefined) {
      return ignoreIfNotExists
        ? Promise.resolve()
        : Promise.reject(
            new TributaryError(
              'ILLEGAL_ARGUMENT',
              `database '${this.name}.${database}' does not exist`,
            ),
          );
    }
    if (db.size > 0 && !cascade) {
      return Promise.reject(
        new TributaryError(
          'ILLEGAL_ARGUMENT',
          `database '${this.name}.${database}' is not empty (use CASCADE)`,
        ),
      );
    }
    this.databases.delete(database);
    return Promise.resolve();
  }

  async listTables(database: string): Promise<string[]> {
    return Promise.resolve([...this.db(database).keys()].sort());
  }

  tableExists(database: string, table: string): Promise<boolean> {
    return Promise.resolve(this.databases.get(database)?.has(table) ?? false);
  }

  async getTable(database: string, table: string): Promise<ResolvedTable> {
    const t = this.db(database).get(table);
    if (t === undefined)
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `table '${this.name}.${database}.${table}' does not exist`,
      );
    return Promise.resolve(t);
  }

  async createTable(
    database: string,
    table: string,
    definition: {
      readonly schema: TableSchema;
      readonly options: Readonly<Record<string, string>>;
    },
    ignoreIfExists: boolean,
  ): Promise<void> {
    const db = this.db(database);
    if (db.has(table)) {
      if (ignoreIfExists) return;
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `table '${this.name}.${database}.${table}' already exists (use IF NOT EXISTS)`,
      );
    }
    db.set(table, {
      name: `${this.name}.${database}.${table}`,
      schema: definition.schema,
      options: { ...definition.options },
    });
    return Promise.resolve();
  }

  async dropTable(database: string, table: string, ignoreIfNotExists: boolean): Promise<void> {
    const db = this.db(database);
    if (!db.delete(table) && !ignoreIfNotExists) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `table '${this.name}.${database}.${table}' does not exist (use IF EXISTS)`,
      );
    }
    return Promise.resolve();
  }
}
