import avro from 'avsc';
import { z } from 'zod';
import { parseConfig } from '../../config.js';
import { TributaryError } from '../../errors.js';
import {
  avroSchemaOf,
  fieldsOfAvro,
  fromAvroValue,
  sameFields,
  toAvroValue,
  type Field,
} from '../catalog/avro-schema.js';
import { fieldsOfJsonSchema, jsonSchemaOf } from '../catalog/json-schema.js';
import {
  SchemaRegistryClient,
  type EncodingInfo,
  type SchemaInfo,
} from '../catalog/registry-client.js';
import { registerFormat } from '../factories.js';
import type {
  DataType,
  FormatContext,
  FormatDecoder,
  FormatEncoder,
  FormatFactory,
  Row,
  RowKind,
} from '../types.js';
import { readRegistryHeader, writeRegistryHeader } from './pravega-registry-header.js';
import { fromJsonValue, toJsonValue, type TimestampStandard } from './pravega-registry-json.js';

/**
 * The `pravega-registry` format: events in the Pravega schema registry's encoding (header of
 * protocol byte + encoding id, then Avro binary or JSON), readable and writable by Java
 * applications that use the registry's serializers, and by Flink's `pravega-registry` format.
 *
 * - Encoder (`createEncoder`, before the job starts): creates the group if it is missing (format
 *   from `pravega-registry.format`, compatibility AllowAny); takes the group's latest schema when
 *   it describes exactly the table's physical columns, else registers the schema derived from
 *   them; gets the encoding id of (that version, no codec). Writes insert-only rows.
 * - Decoder (`createDecoder`, before the job starts): loads every encoding the group has (ids are
 *   handed out 0, 1, 2, …) with its writer schema, so the data path never waits on the registry.
 *   An event whose encoding id was created after the job started fails with a clear error (restart
 *   the job to pick it up) instead of stalling the batch on a lookup. Fields are matched by name;
 *   a column the writer did not have is null (or an error with `json.fail-on-missing-field`).
 *   Encodings with a codec (gzip, snappy) are not supported and fail with a message naming it.
 */

const KEYS = [
  'pravega-registry.uri',
  'pravega-registry.namespace',
  'pravega-registry.group-id',
  'pravega-registry.format',
  'pravega-registry.security.auth-type',
  'pravega-registry.security.auth-token',
  'pravega-registry.security.validate-hostname',
  'pravega-registry.security.trust-store',
  'pravega-registry.json.fail-on-missing-field',
  'pravega-registry.json.ignore-parse-errors',
  'pravega-registry.json.timestamp-format.standard',
  'pravega-registry.json.map-null-key.mode',
  'pravega-registry.json.map-null-key.literal',
  'pravega-registry.json.encode.decimal-as-plain-number',
] as const;

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const OptionsSchema = z.object({
  'pravega-registry.uri': z.string().url('must be an http:// URL of the schema registry'),
  'pravega-registry.namespace': z.string().min(1, 'must name the namespace (the Pravega scope)'),
  'pravega-registry.group-id': z.string().min(1, 'must name the group (the stream)'),
  'pravega-registry.format': z
    .enum(['Avro', 'Json'], { message: "must be 'Avro' or 'Json'" })
    .default('Avro'),
  'pravega-registry.security.auth-type': z.string().optional(),
  'pravega-registry.security.auth-token': z.string().optional(),
  'pravega-registry.security.validate-hostname': bool.optional(),
  'pravega-registry.security.trust-store': z.string().optional(),
  'pravega-registry.json.fail-on-missing-field': bool.default(false),
  'pravega-registry.json.ignore-parse-errors': bool.default(false),
  'pravega-registry.json.timestamp-format.standard': z
    .enum(['SQL', 'ISO-8601'], { message: "must be 'SQL' or 'ISO-8601'" })
    .default('SQL'),
  'pravega-registry.json.map-null-key.mode': z.enum(['FAIL', 'DROP', 'LITERAL']).default('FAIL'),
  'pravega-registry.json.map-null-key.literal': z.string().default('null'),
  'pravega-registry.json.encode.decimal-as-plain-number': bool.default(false),
});

type Options = z.output<typeof OptionsSchema>;

function parseOptions(ctx: FormatContext): Options {
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.options)) {
    if (!k.startsWith('pravega-registry.')) continue;
    if (!(KEYS as readonly string[]).includes(k)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `${ctx.tableName}: '${k}' is not an option of format 'pravega-registry' (known: ${KEYS.join(', ')})`,
      );
    }
    own[k] = v;
  }
  const options = parseConfig(OptionsSchema, own, `${ctx.tableName} options`);
  const type = options['pravega-registry.security.auth-type'];
  const token = options['pravega-registry.security.auth-token'];
  if ((type === undefined) !== (token === undefined)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${ctx.tableName}: 'pravega-registry.security.auth-type' and 'pravega-registry.security.auth-token' go together; give both or neither`,
    );
  }
  return options;
}

function clientOf(options: Options): SchemaRegistryClient {
  const type = options['pravega-registry.security.auth-type'];
  const token = options['pravega-registry.security.auth-token'];
  return new SchemaRegistryClient({
    uri: options['pravega-registry.uri'],
    namespace: options['pravega-registry.namespace'],
    ...(type !== undefined && token !== undefined ? { authType: type, authToken: token } : {}),
  });
}

/** The registry schema of these columns in a format (what the catalog registers, too). */
export function schemaInfoOf(fields: readonly Field[], format: 'Avro' | 'Json'): SchemaInfo {
  if (format === 'Avro') {
    const schema = avroSchemaOf(fields) as { name: string };
    return {
      type: schema.name,
      serializationFormat: 'Avro',
      schema: JSON.stringify(schema),
      properties: {},
    };
  }
  return {
    type: '',
    serializationFormat: 'Json',
    schema: JSON.stringify(jsonSchemaOf(fields)),
    properties: {},
  };
}

/** The table columns a registered schema describes. */
export function fieldsOfSchemaInfo(info: SchemaInfo): Field[] {
  if (info.serializationFormat === 'Avro') return fieldsOfAvro(info.schema);
  if (info.serializationFormat === 'Json') return fieldsOfJsonSchema(info.schema);
  throw new TributaryError(
    'CONFIG_INVALID',
    `schemas of format ${info.serializationFormat} have no table type here (Avro and Json do)`,
  );
}

type BodyDecoder = (body: Buffer) => Row;

function rowType(fields: readonly Field[]): DataType {
  return { root: 'ROW', nullable: false, fields };
}

function avroBodyDecoder(info: EncodingInfo, columns: readonly Field[]): BodyDecoder {
  const type = avro.Type.forSchema(JSON.parse(info.schema.schema) as avro.Schema);
  const writer = rowType(fieldsOfAvro(info.schema.schema));
  const table = rowType(columns);
  return (body) => fromAvroValue(table, writer, type.fromBuffer(body)) as Row;
}

function jsonBodyDecoder(columns: readonly Field[], options: Options): BodyDecoder {
  const failOnMissing = options['pravega-registry.json.fail-on-missing-field'];
  return (body) => {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TributaryError('DESERIALIZATION_FAILED', 'the JSON event is not an object');
    }
    const obj = parsed as Record<string, unknown>;
    const row: Row = {};
    for (const c of columns) {
      if (failOnMissing && !(c.name in obj)) {
        throw new TributaryError(
          'DESERIALIZATION_FAILED',
          `field '${c.name}' is missing from the JSON event`,
        );
      }
      row[c.name] = fromJsonValue(c.type, obj[c.name], c.name);
    }
    return row;
  };
}

/** Loads encodings 0, 1, 2, … until the registry says there is no next one. */
async function loadEncodings(
  client: SchemaRegistryClient,
  group: string,
): Promise<Map<number, EncodingInfo>> {
  const encodings = new Map<number, EncodingInfo>();
  for (let id = 0; id < 100_000; id++) {
    try {
      encodings.set(id, await client.getEncodingInfo(group, id));
    } catch (err) {
      if (TributaryError.is(err, 'REGISTRY_NOT_FOUND')) break;
      throw err;
    }
  }
  return encodings;
}

async function requireGroup(
  client: SchemaRegistryClient,
  group: string,
  table: string,
): Promise<void> {
  if (!(await client.groupExists(group))) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${table}: the schema registry at ${client.uri} has no group '${group}' in namespace '${client.namespace ?? ''}'; create the table through the Pravega catalog or write to it first`,
    );
  }
}

export const pravegaRegistryFormat: FormatFactory = {
  identifier: 'pravega-registry',
  optionKeys: KEYS,

  async createDecoder(ctx: FormatContext): Promise<FormatDecoder> {
    const options = parseOptions(ctx);
    const client = clientOf(options);
    const group = options['pravega-registry.group-id'];
    await requireGroup(client, group, ctx.tableName);
    const encodings = await loadEncodings(client, group);
    const decoders = new Map<number, BodyDecoder>();
    for (const [id, info] of encodings) {
      if (info.codecType !== '') continue; // refused when an event uses it
      if (info.schema.serializationFormat === 'Avro')
        decoders.set(id, avroBodyDecoder(info, ctx.columns));
      else if (info.schema.serializationFormat === 'Json')
        decoders.set(id, jsonBodyDecoder(ctx.columns, options));
    }
    const ignoreErrors = options['pravega-registry.json.ignore-parse-errors'];
    return {
      changelogMode: 'insert-only',
      decode(payload: Buffer): Row[] {
        try {
          const { encodingId, body } = readRegistryHeader(payload, ctx.tableName);
          const decode = decoders.get(encodingId);
          if (decode === undefined) {
            const info = encodings.get(encodingId);
            throw new TributaryError(
              'DESERIALIZATION_FAILED',
              info === undefined
                ? `${ctx.tableName}: encoding id ${encodingId} of group '${group}' was not registered when the job started (it knew ${encodings.size}); restart the job to load it`
                : `${ctx.tableName}: encoding id ${encodingId} uses codec '${info.codecType}' (${info.schema.serializationFormat}); only uncompressed encodings can be read`,
            );
          }
          return [decode(body)];
        } catch (err) {
          if (ignoreErrors) return [];
          if (TributaryError.is(err)) throw err;
          throw new TributaryError(
            'DESERIALIZATION_FAILED',
            `${ctx.tableName}: cannot decode a pravega-registry event: ${(err as Error).message}`,
            { cause: err },
          );
        }
      },
    };
  },

  async createEncoder(ctx: FormatContext): Promise<FormatEncoder> {
    const options = parseOptions(ctx);
    const client = clientOf(options);
    const group = options['pravega-registry.group-id'];
    const format = options['pravega-registry.format'];
    const columns = ctx.columns;
    await client.addGroup(group, { serializationFormat: format, compatibility: 'AllowAny' });
    const props = await client.getGroup(group);
    if (props.serializationFormat !== format && props.serializationFormat !== 'Any') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `${ctx.tableName}: 'pravega-registry.format' is ${format} but group '${group}' holds ${props.serializationFormat} schemas; set it to ${props.serializationFormat}`,
      );
    }
    // reuse the group's latest schema when it says exactly what the table says
    let schema: SchemaInfo | undefined;
    let version;
    try {
      const latest = await client.getLatestSchema(group);
      if (
        latest.schema.serializationFormat === format &&
        sameFields(fieldsOfSchemaInfo(latest.schema), columns)
      ) {
        schema = latest.schema;
        version = latest.version;
      }
    } catch (err) {
      if (
        !TributaryError.is(err, 'REGISTRY_NOT_FOUND') &&
        !TributaryError.is(err, 'CONFIG_INVALID')
      )
        throw err;
    }
    if (schema === undefined || version === undefined) {
      schema = schemaInfoOf(columns, format);
      version = await client.addSchema(group, schema);
    }
    const encodingId = await client.getEncodingId(group, version, '');
    const table = rowType(columns);
    let body: (row: Row) => Buffer;
    if (format === 'Avro') {
      const type = avro.Type.forSchema(JSON.parse(schema.schema) as avro.Schema);
      body = (row) => type.toBuffer(toAvroValue(table, row, ''));
    } else {
      const standard: TimestampStandard =
        options['pravega-registry.json.timestamp-format.standard'];
      body = (row) => Buffer.from(JSON.stringify(toJsonValue(table, row, '', standard)), 'utf8');
    }
    return {
      acceptsChanges: false,
      encode(row: Row, kind: RowKind): Buffer {
        if (kind !== '+I') {
          throw new TributaryError(
            'ILLEGAL_ARGUMENT',
            `${ctx.tableName}: format 'pravega-registry' writes inserts only, got a ${kind} row`,
          );
        }
        return writeRegistryHeader(encodingId, body(row));
      },
    };
  },
};

registerFormat(pravegaRegistryFormat);
