/**
 * Flink's TableEnvironment over a {@link StreamEnvironment}: catalogs (a built-in in-memory
 * `default_catalog.default_database`, others by `CREATE CATALOG`), temporary tables and views,
 * and `executeSql`. DDL returns at once; each `INSERT INTO` (or statement set) becomes one job
 * on a fresh StreamEnvironment with the same options, named `insert-into_<sink tables>` so that
 * the same SQL on the same checkpoint directory resumes its job.
 */
import { parseFlinkDuration } from './options/duration.js';
import type { TableDefinition } from './descriptor.js';
import { join } from 'node:path';
import { TributaryError } from '../errors.js';
import type { JobGraphDescription } from '../runtime/job-events.js';
import type { JobHandle } from '../runtime/job-handle.js';
import type { JobOptionsInput } from '../runtime/job-options.js';
import { StreamEnvironment, type ExecuteOptions } from '../runtime/stream-environment.js';
import { findCatalogFactory } from './factories.js';
import { Planner, type PlannerCatalog } from './planner/planner.js';
import type { Query, Statement } from './sql/ast.js';
import { InMemoryCatalog } from './sql/in-memory-catalog.js';
import { parseSql, sqlError } from './sql/parse.js';
import type { Catalog, ResolvedTable } from './types.js';
import './connectors/datagen.js';
import './connectors/print.js';
import './connectors/blackhole.js';

/** What `executeSql` gives back for one statement. */
export interface TableResult {
  /** `ok`: DDL done; `rows`: SHOW output; `job`: an INSERT started; `explain`: EXPLAIN text */
  readonly kind: 'ok' | 'rows' | 'job' | 'explain';
  readonly statement: Statement['kind'];
  readonly rows?: readonly string[];
  readonly job?: JobHandle;
  /** the started job's name (`insert-into_<sink tables>`) */
  readonly jobName?: string;
  readonly text?: string;
}

/** A table defined in code (`TableDescriptor...build()`): schema and options, as `CREATE TABLE` gives. */
export type { TableDefinition } from './descriptor.js';

export interface TableEnvironmentOptions {
  /** Options of every job an INSERT starts (defaults of `StreamEnvironment.create`). */
  readonly job?: JobOptionsInput;
  /** How INSERT jobs are started (`stopOnSignals`, `startFrom`...). */
  readonly execute?: ExecuteOptions;
  /**
   * Flink's table configuration keys this layer honours:
   * - `table.exec.source.idle-timeout` (a Flink duration, e.g. `'5 s'`; default none): a source
   *   subtask that read nothing for that long stops holding event time back (watermarks).
   */
  readonly config?: Readonly<Record<string, string>>;
}

const CONFIG_KEYS = ['table.exec.source.idle-timeout'] as const;

function idleTimeoutOf(config: Readonly<Record<string, string>>): number | undefined {
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `TableEnvironment config: unknown key '${key}' (known: ${CONFIG_KEYS.join(', ')})`,
      );
    }
  }
  const text = config['table.exec.source.idle-timeout'];
  if (text === undefined) return undefined;
  const ms = parseFlinkDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `TableEnvironment config: 'table.exec.source.idle-timeout' = '${text}' is not a positive duration (e.g. '5 s', '1 min')`,
    );
  }
  return ms;
}

interface View {
  readonly query: Query;
  readonly text: string;
}

const DEFAULT_CATALOG = 'default_catalog';

export class TableEnvironment {
  private readonly catalogs = new Map<string, Catalog>();
  private readonly temporaryTables = new Map<string, ResolvedTable>();
  private readonly views = new Map<string, View>();
  private currentCatalog = DEFAULT_CATALOG;
  private currentDatabase = 'default_database';

  private constructor(
    private readonly jobOptions: JobOptionsInput,
    private readonly executeOptions: ExecuteOptions,
    private readonly idleTimeoutMs: number | undefined,
  ) {
    this.catalogs.set(DEFAULT_CATALOG, new InMemoryCatalog(DEFAULT_CATALOG));
  }

  /** Over a StreamEnvironment (its job options are used for every INSERT job) or job options. */
  static create(envOrOptions: StreamEnvironment | TableEnvironmentOptions = {}): TableEnvironment {
    if (envOrOptions instanceof StreamEnvironment)
      return new TableEnvironment(envOrOptions.options, {}, undefined);
    // validate now, so a bad option fails here and not at the first INSERT
    StreamEnvironment.create(envOrOptions.job ?? {});
    return new TableEnvironment(
      envOrOptions.job ?? {},
      envOrOptions.execute ?? {},
      idleTimeoutOf(envOrOptions.config ?? {}),
    );
  }

  /** Runs one or several `;`-separated statements; the result of the last one. */
  async executeSql(sql: string): Promise<TableResult> {
    const results = await this.executeStatements(sql);
    const last = results[results.length - 1];
    if (last === undefined) throw sqlError('no statement to execute', undefined);
    return last;
  }

  /** Runs every statement in order; one result each (every INSERT's job is started). */
  async executeStatements(sql: string): Promise<TableResult[]> {
    const statements = await parseSql(sql);
    const results: TableResult[] = [];
    for (const s of statements) results.push(await this.execute(s));
    return results;
  }

  /** The job graph each INSERT of `sql` compiles to (EXPLAIN without the keyword). */
  async explainSql(sql: string): Promise<string> {
    const statements = await parseSql(sql);
    const parts: string[] = [];
    for (const s of statements) {
      parts.push(await this.explain(s.kind === 'explain' ? s.statement : s));
    }
    return parts.join('\n');
  }

  createTemporaryTable(name: string, definition: TableDefinition): void {
    const path = this.qualify(name);
    const key = path.join('.');
    if (this.temporaryTables.has(key) || this.views.has(key)) {
      throw new TributaryError('ILLEGAL_ARGUMENT', `temporary table '${key}' already exists`);
    }
    this.temporaryTables.set(key, {
      name: key,
      schema: definition.schema,
      options: { ...definition.options },
      ...(definition.comment === undefined ? {} : { comment: definition.comment }),
    });
  }

  /** A temporary view over a `SELECT ...` text. */
  async createTemporaryView(name: string, selectSql: string): Promise<void> {
    await this.execute(
      (await parseSql(`CREATE TEMPORARY VIEW ${quoteIdentifier(name)} AS ${selectSql}`))[0]!,
    );
  }

  registerCatalog(name: string, catalog: Catalog): void {
    if (this.catalogs.has(name))
      throw new TributaryError('ILLEGAL_ARGUMENT', `catalog '${name}' already exists`);
    this.catalogs.set(name, catalog);
  }

  listCatalogs(): string[] {
    return [...this.catalogs.keys()].sort();
  }

  /** Closes every catalog (connections to registries and controllers). */
  async close(): Promise<void> {
    for (const c of this.catalogs.values()) await c.close();
  }

  private qualify(name: string): [string, string, string] {
    const parts = name.split('.');
    if (parts.length === 1) return [this.currentCatalog, this.currentDatabase, parts[0]!];
    if (parts.length === 2) return [this.currentCatalog, parts[0]!, parts[1]!];
    if (parts.length === 3) return [parts[0]!, parts[1]!, parts[2]!];
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `'${name}' is not a table name (catalog.database.table at most)`,
    );
  }

  private catalog(name: string): Catalog {
    const c = this.catalogs.get(name);
    if (c === undefined) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `catalog '${name}' does not exist (catalogs: ${this.listCatalogs().join(', ')})`,
      );
    }
    return c;
  }

  private readonly plannerCatalog: PlannerCatalog = {
    resolve: async (name) => {
      const path = this.qualify(name);
      const key = path.join('.');
      const view = this.views.get(key);
      if (view) return { kind: 'view', name: key, query: view.query };
      const temporary = this.temporaryTables.get(key);
      if (temporary) return { kind: 'table', table: temporary };
      const catalog = this.catalog(path[0]);
      if (!(await catalog.tableExists(path[1], path[2]))) {
        throw new TributaryError(
          'ILLEGAL_ARGUMENT',
          `SQL: table or view '${name}' not found (looked for ${key})`,
        );
      }
      return { kind: 'table', table: await catalog.getTable(path[1], path[2]) };
    },
  };

  private async execute(s: Statement): Promise<TableResult> {
    const ok = (): TableResult => ({ kind: 'ok', statement: s.kind });
    switch (s.kind) {
      case 'createTable': {
        const path = this.qualify(s.name);
        const definition = {
          schema: s.schema,
          options: s.options,
          ...(s.comment === undefined ? {} : { comment: s.comment }),
        };
        if (s.temporary) {
          if (this.temporaryTables.has(path.join('.')) && s.ifNotExists) return ok();
          this.createTemporaryTable(path.join('.'), definition);
        } else {
          await this.catalog(path[0]).createTable(path[1], path[2], definition, s.ifNotExists);
        }
        return ok();
      }
      case 'createView': {
        const key = this.qualify(s.name).join('.');
        if (this.views.has(key) || this.temporaryTables.has(key))
          throw sqlError(`a temporary table or view '${key}' already exists`, s.pos);
        this.views.set(key, { query: s.query, text: s.text });
        return ok();
      }
      case 'createCatalog': {
        if (this.catalogs.has(s.name)) throw sqlError(`catalog '${s.name}' already exists`, s.pos);
        const { type, ...options } = s.options;
        if (type === undefined)
          throw sqlError(`CREATE CATALOG ${s.name}: the option 'type' is required`, s.pos);
        const catalog = findCatalogFactory(type, s.name).create(s.name, options);
        await catalog.open();
        this.catalogs.set(s.name, catalog);
        return ok();
      }
      case 'createDatabase': {
        const parts = s.name.split('.');
        const [catalog, db] =
          parts.length === 2 ? [parts[0]!, parts[1]!] : [this.currentCatalog, parts[0]!];
        await this.catalog(catalog).createDatabase(db, s.ifNotExists);
        return ok();
      }
      case 'dropTable': {
        const path = this.qualify(s.name);
        const key = path.join('.');
        if (this.temporaryTables.delete(key)) return ok();
        const catalog = this.catalog(path[0]);
        await catalog.dropTable(path[1], path[2], s.ifExists);
        return ok();
      }
      case 'useCatalog': {
        const catalog = this.catalog(s.name);
        this.currentCatalog = s.name;
        this.currentDatabase = catalog.defaultDatabase;
        return ok();
      }
      case 'useDatabase': {
        const parts = s.name.split('.');
        const [catalog, db] =
          parts.length === 2 ? [parts[0]!, parts[1]!] : [this.currentCatalog, parts[0]!];
        if (!(await this.catalog(catalog).databaseExists(db)))
          throw sqlError(`database '${catalog}.${db}' does not exist`, s.pos);
        this.currentCatalog = catalog;
        this.currentDatabase = db;
        return ok();
      }
      case 'show': {
        let rows: string[];
        if (s.what === 'CATALOGS') rows = this.listCatalogs();
        else if (s.what === 'DATABASES')
          rows = await this.catalog(this.currentCatalog).listDatabases();
        else {
          const prefix = `${this.currentCatalog}.${this.currentDatabase}.`;
          const temporary = [...this.temporaryTables.keys(), ...this.views.keys()]
            .filter((k) => k.startsWith(prefix))
            .map((k) => k.slice(prefix.length));
          const stored = await this.catalog(this.currentCatalog).listTables(this.currentDatabase);
          rows = [...new Set([...stored, ...temporary])].sort();
        }
        return { kind: 'rows', statement: s.kind, rows };
      }
      case 'explain':
        return { kind: 'explain', statement: s.kind, text: await this.explain(s.statement) };
      case 'insert':
      case 'statementSet': {
        const inserts = s.kind === 'insert' ? [s] : s.inserts;
        const sinks = inserts.map((i) => this.qualify(i.table).join('.'));
        const jobName = `insert-into_${sinks.join('+')}`;
        const env = StreamEnvironment.create(this.optionsFor(jobName));
        for (const insert of inserts)
          await new Planner(env, this.plannerCatalog, insert.text, this.idleTimeoutMs).planInsert(
            insert,
          );
        const job = env.execute(jobName, this.executeOptions);
        return { kind: 'job', statement: s.kind, job, jobName };
      }
    }
  }

  /**
   * Each INSERT job keeps its checkpoints in its own subdirectory `<checkpoint.dir>/<job name>`
   * (a checkpoint directory belongs to one job), so several INSERTs of one environment coexist
   * and the same SQL resumes from its own checkpoints.
   */
  private optionsFor(jobName: string): JobOptionsInput {
    const checkpoint = this.jobOptions.checkpoint;
    if (checkpoint?.dir === undefined) return this.jobOptions;
    return {
      ...this.jobOptions,
      checkpoint: { ...checkpoint, dir: join(checkpoint.dir, jobName.replace(/[^\w.+-]/g, '_')) },
    };
  }

  private async explain(s: Statement): Promise<string> {
    if (s.kind !== 'insert' && s.kind !== 'statementSet') {
      throw sqlError('EXPLAIN supports INSERT INTO and statement sets', s.pos);
    }
    const inserts = s.kind === 'insert' ? [s] : s.inserts;
    const env = StreamEnvironment.create(this.jobOptions);
    for (const insert of inserts)
      await new Planner(env, this.plannerCatalog, insert.text, this.idleTimeoutMs).planInsert(
        insert,
      );
    return formatJobGraph(env.describe());
  }
}

function quoteIdentifier(name: string): string {
  return name
    .split('.')
    .map((p) => `\`${p.replace(/`/g, '``')}\``)
    .join('.');
}

/** The job graph as text: one line per vertex (its chained operators), then the edges. */
export function formatJobGraph(graph: JobGraphDescription): string {
  const lines = ['== Job graph =='];
  for (const v of graph.vertices) {
    lines.push(`[${v.id}] parallelism ${v.parallelism}`);
    if (v.source) lines.push(`    ${v.source.name}  (uid ${v.source.uid})`);
    for (const o of v.operators) lines.push(`    ${o.name}  (uid ${o.uid})`);
  }
  lines.push('== Edges ==');
  for (const e of graph.edges)
    lines.push(`[${e.from}] -> [${e.to}]  ${e.partitioning.toUpperCase()}`);
  return lines.join('\n');
}
