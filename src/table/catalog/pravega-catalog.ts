import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseConfig } from '../../config.js';
import { TributaryError } from '../../errors.js';
import {
  acquireClient,
  type ClientConfig,
  type PravegaClient,
  type SharedClient,
} from '../../pravega/client/index.js';
import { registerCatalogFactory } from '../factories.js';
import { fieldsOfSchemaInfo, schemaInfoOf } from '../formats/pravega-registry.js';
import type { Catalog, CatalogFactory, ResolvedTable, TableSchema } from '../types.js';
import type { Field } from './avro-schema.js';
import { SchemaRegistryClient } from './registry-client.js';

/**
 * The Pravega catalog (Flink's `PravegaCatalog`): a database is a Pravega scope, a table is a
 * stream that has a schema registry group of the same name (namespace = scope, group id =
 * stream), its schema the group's latest. Scopes and streams whose names start with `_` are
 * hidden. Tables it returns read and write through the `pravega` connector with the
 * `pravega-registry` format, so Java applications using the registry's serializers can share
 * the streams.
 *
 * Works with `embedded:<dir>` controller URIs as well: the streams then live in the embedded
 * store while the groups live in the registry (which keeps its own state in memory or in some
 * real Pravega server — it cannot use an embedded store).
 */

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const JSON_KEYS = [
  'json.fail-on-missing-field',
  'json.ignore-parse-errors',
  'json.timestamp-format.standard',
  'json.map-null-key.mode',
  'json.map-null-key.literal',
  'json.encode.decimal-as-plain-number',
] as const;
const SECURITY_KEYS = [
  'security.auth-type',
  'security.auth-token',
  'security.validate-hostname',
  'security.trust-store',
] as const;

const OptionsSchema = z
  .object({
    type: z.literal('pravega').optional(),
    'controller-uri': z.string().regex(/^(tcp|tls|embedded):/, {
      message: "must be a controller URI: 'tcp://host:9090', 'tls://host:9090' or 'embedded:<dir>'",
    }),
    'schema-registry-uri': z.string().regex(/^https?:\/\/./, {
      message: "must be the schema registry's http:// URL, e.g. 'http://localhost:9092'",
    }),
    'default-database': z.string().min(1, 'must name an existing scope'),
    'serialization.format': z
      .enum(['Avro', 'Json'], { message: "must be 'Avro' or 'Json'" })
      .default('Avro'),
    'security.auth-type': z.string().optional(),
    'security.auth-token': z.string().optional(),
    'security.validate-hostname': bool.optional(),
    'security.trust-store': z.string().optional(),
    'json.fail-on-missing-field': bool.optional(),
    'json.ignore-parse-errors': bool.optional(),
    'json.timestamp-format.standard': z.enum(['SQL', 'ISO-8601']).optional(),
    'json.map-null-key.mode': z.enum(['FAIL', 'DROP', 'LITERAL']).optional(),
    'json.map-null-key.literal': z.string().optional(),
    'json.encode.decimal-as-plain-number': bool.optional(),
  })
  .strict();

export type PravegaCatalogOptions = z.output<typeof OptionsSchema>;

const hidden = (name: string): boolean => name.startsWith('_');

export class PravegaCatalog implements Catalog {
  readonly defaultDatabase: string;
  private shared: SharedClient | undefined;
  private readonly registry: SchemaRegistryClient;

  constructor(
    readonly name: string,
    private readonly options: PravegaCatalogOptions,
    /** the options exactly as given (string → string), passed on to every table */
    private readonly rawOptions: Readonly<Record<string, string>>,
  ) {
    this.defaultDatabase = options['default-database'];
    const type = options['security.auth-type'];
    const token = options['security.auth-token'];
    this.registry = new SchemaRegistryClient({
      uri: options['schema-registry-uri'],
      ...(type !== undefined && token !== undefined ? { authType: type, authToken: token } : {}),
    });
  }

  async open(): Promise<void> {
    if (this.shared !== undefined) return;
    // the process-wide client of that URI: the embedded store has one owner per directory
    const shared = await acquireClient(this.clientConfig());
    const client = shared.client;
    try {
      if (!(await client.controller.scopeExists(this.defaultDatabase))) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `catalog ${this.name}: 'default-database' = '${this.defaultDatabase}' is not an existing scope of ${this.options['controller-uri']}; create the scope first or name another`,
        );
      }
    } catch (err) {
      await shared.release();
      throw err;
    }
    this.shared = shared;
  }

  async close(): Promise<void> {
    const shared = this.shared;
    this.shared = undefined;
    await shared?.release();
  }

  // ---- databases ----

  async listDatabases(): Promise<string[]> {
    const out: string[] = [];
    for await (const scope of this.pravega().controller.listScopes()) {
      if (!hidden(scope)) out.push(scope);
    }
    return out.sort();
  }

  async databaseExists(database: string): Promise<boolean> {
    if (hidden(database)) return false;
    return this.pravega().controller.scopeExists(database);
  }

  async createDatabase(database: string, ignoreIfExists: boolean): Promise<void> {
    this.checkName('database', database);
    const created = await this.pravega().createScope(database);
    if (!created && !ignoreIfExists) {
      throw new TributaryError(
        'SCOPE_EXISTS',
        `catalog ${this.name}: database '${database}' already exists`,
      );
    }
  }

  async dropDatabase(
    database: string,
    ignoreIfNotExists: boolean,
    cascade: boolean,
  ): Promise<void> {
    if (!(await this.databaseExists(database))) {
      if (ignoreIfNotExists) return;
      throw new TributaryError(
        'SCOPE_NOT_FOUND',
        `catalog ${this.name}: database '${database}' does not exist`,
      );
    }
    if (database === this.defaultDatabase) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `catalog ${this.name}: '${database}' is the catalog's default database and cannot be dropped`,
      );
    }
    const tables = await this.listTables(database);
    if (tables.length > 0 && !cascade) {
      throw new TributaryError(
        'SCOPE_NOT_EMPTY',
        `catalog ${this.name}: database '${database}' still holds tables (${tables.join(', ')}); drop them first or use CASCADE`,
      );
    }
    const registry = this.registry.withNamespace(database);
    for (const group of (await registry.listGroups()).keys()) await registry.removeGroup(group);
    const client = this.pravega();
    // every stream goes, the hidden ones (reader group state, marks) too
    const streams: string[] = [];
    for await (const s of client.controller.listStreams(database)) streams.push(s.stream);
    for (const stream of streams) await this.deleteStream(database, stream);
    await client.deleteScope(database);
  }

  // ---- tables ----

  async listTables(database: string): Promise<string[]> {
    await this.requireDatabase(database);
    const registry = this.registry.withNamespace(database);
    const groups = await registry.listGroups();
    const out: string[] = [];
    for await (const s of this.pravega().controller.listStreams(database)) {
      if (!hidden(s.stream) && groups.has(s.stream)) out.push(s.stream);
    }
    return out.sort();
  }

  async tableExists(database: string, table: string): Promise<boolean> {
    if (hidden(database) || hidden(table)) return false;
    if (!(await this.pravega().controller.scopeExists(database))) return false;
    if (!(await this.pravega().controller.streamExists({ scope: database, stream: table })))
      return false;
    return this.registry.withNamespace(database).groupExists(table);
  }

  async getTable(database: string, table: string): Promise<ResolvedTable> {
    if (!(await this.tableExists(database, table))) {
      throw new TributaryError(
        'STREAM_NOT_FOUND',
        `catalog ${this.name}: table '${database}.${table}' does not exist (a table is a stream with a schema registry group of the same name)`,
      );
    }
    const registry = this.registry.withNamespace(database);
    const latest = await registry.getLatestSchema(table);
    const fields = fieldsOfSchemaInfo(latest.schema);
    const format = latest.schema.serializationFormat === 'Json' ? 'Json' : 'Avro';
    return {
      name: `${this.name}.${database}.${table}`,
      schema: { columns: fields.map((f) => ({ kind: 'physical', name: f.name, type: f.type })) },
      options: this.tableOptions(database, table, format),
    };
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
    this.checkName('table', table);
    await this.requireDatabase(database);
    const extra = Object.entries(definition.options)
      .filter(([k, v]) => !(k === 'connector' && v === 'pravega'))
      .map(([k]) => `'${k}'`);
    if (extra.length > 0) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `catalog ${this.name}: tables of a Pravega catalog take their options from the catalog; remove ${extra.join(', ')} from CREATE TABLE ${database}.${table}`,
      );
    }
    const fields: Field[] = definition.schema.columns.flatMap((c) =>
      c.kind === 'physical' ? [{ name: c.name, type: c.type }] : [],
    );
    if (fields.length === 0) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `catalog ${this.name}: table ${database}.${table} needs at least one physical column`,
      );
    }
    if (definition.schema.columns.some((c) => c.kind !== 'physical')) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `catalog ${this.name}: table ${database}.${table}: the registry keeps physical columns only; define computed and metadata columns in a view or query`,
      );
    }
    const format = this.options['serialization.format'];
    const schema = schemaInfoOf(fields, format); // validates the columns before anything is created
    if (await this.tableExists(database, table)) {
      if (ignoreIfExists) return;
      throw new TributaryError(
        'STREAM_EXISTS',
        `catalog ${this.name}: table '${database}.${table}' already exists`,
      );
    }
    await this.pravega().createStream(
      { scope: database, stream: table },
      { scalingPolicy: { type: 'fixed', minSegments: 1 } },
    );
    const registry = this.registry.withNamespace(database);
    await registry.addGroup(table, { serializationFormat: format, compatibility: 'AllowAny' });
    await registry.addSchema(table, schema);
  }

  async dropTable(database: string, table: string, ignoreIfNotExists: boolean): Promise<void> {
    if (!(await this.tableExists(database, table))) {
      if (ignoreIfNotExists) return;
      throw new TributaryError(
        'STREAM_NOT_FOUND',
        `catalog ${this.name}: table '${database}.${table}' does not exist`,
      );
    }
    await this.deleteStream(database, table);
    await this.registry.withNamespace(database).removeGroup(table);
  }

  // ---- helpers ----

  /** The options of a table: the connector's and the format's, plus the catalog's own. */
  private tableOptions(
    database: string,
    table: string,
    format: 'Avro' | 'Json',
  ): Record<string, string> {
    const out: Record<string, string> = {
      connector: 'pravega',
      'controller-uri': this.options['controller-uri'],
      scope: database,
      'scan.streams': table,
      'sink.stream': table,
      format: 'pravega-registry',
      'pravega-registry.uri': this.options['schema-registry-uri'],
      'pravega-registry.namespace': database,
      'pravega-registry.group-id': table,
      'pravega-registry.format': format,
    };
    for (const key of SECURITY_KEYS) {
      const v = this.rawOptions[key];
      if (v !== undefined) {
        out[key] = v;
        out[`pravega-registry.${key}`] = v;
      }
    }
    for (const key of JSON_KEYS) {
      const v = this.rawOptions[key];
      if (v !== undefined) out[`pravega-registry.${key}`] = v;
    }
    return out;
  }

  private async deleteStream(scope: string, stream: string): Promise<void> {
    const client = this.pravega();
    try {
      await client.sealStream({ scope, stream });
    } catch (err) {
      if (!TributaryError.is(err, 'STREAM_SEALED')) throw err;
    }
    await client.deleteStream({ scope, stream });
  }

  private async requireDatabase(database: string): Promise<void> {
    if (!(await this.databaseExists(database))) {
      throw new TributaryError(
        'SCOPE_NOT_FOUND',
        `catalog ${this.name}: database '${database}' does not exist`,
      );
    }
  }

  private checkName(what: string, name: string): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name) || name.length > 255) {
      throw new TributaryError(
        'INVALID_NAME',
        `catalog ${this.name}: ${what} name '${name}' is not a valid Pravega name (letters, digits, '.' and '-', not starting with '_' or '-')`,
      );
    }
  }

  private pravega(): PravegaClient {
    if (this.shared === undefined) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `catalog ${this.name} is not open; call open() first`,
      );
    }
    return this.shared.client;
  }

  private clientConfig(): ClientConfig {
    const o = this.options;
    const config: { -readonly [K in keyof ClientConfig]: ClientConfig[K] } = {
      controllerUri: o['controller-uri'],
    };
    const type = o['security.auth-type'];
    const token = o['security.auth-token'];
    if (type !== undefined && token !== undefined) {
      if (type.toLowerCase() !== 'basic') {
        throw new TributaryError(
          'CONFIG_INVALID',
          `catalog ${this.name}: 'security.auth-type' = '${type}' is not supported; use Basic with 'security.auth-token' = base64 of user:password`,
        );
      }
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `catalog ${this.name}: 'security.auth-token' must be base64 of user:password for Basic auth`,
        );
      }
      config.credentials = {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
      };
    }
    if (o['security.trust-store'] !== undefined) {
      try {
        config.trustedCa = readFileSync(o['security.trust-store'], 'utf8');
      } catch (err) {
        throw new TributaryError(
          'CONFIG_INVALID',
          `catalog ${this.name}: 'security.trust-store' = '${o['security.trust-store']}' cannot be read (${(err as Error).message}); give a PEM file of the CA`,
        );
      }
    }
    if (o['security.validate-hostname'] !== undefined)
      config.validateHostname = o['security.validate-hostname'];
    return config;
  }
}

function parseCatalogOptions(
  name: string,
  options: Readonly<Record<string, string>>,
): PravegaCatalogOptions {
  const parsed = parseConfig(OptionsSchema, options, `options of catalog ${name}`);
  if (
    (parsed['security.auth-type'] === undefined) !==
    (parsed['security.auth-token'] === undefined)
  ) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `invalid options of catalog ${name}: 'security.auth-type' and 'security.auth-token' go together; give both or neither`,
    );
  }
  return parsed;
}

export const pravegaCatalogFactory: CatalogFactory = {
  identifier: 'pravega',
  create(name: string, options: Readonly<Record<string, string>>): Catalog {
    return new PravegaCatalog(name, parseCatalogOptions(name, options), options);
  },
};

registerCatalogFactory(pravegaCatalogFactory);
