/**
 * `format = 'avro'`: each event is one Avro binary datum (no container-file header, no schema
 * fingerprint), as Flink's `avro` format writes per message, with the schema derived from the
 * table's columns by Flink's mapping (`AvroSchemaConverter`): record
 * `org.apache.flink.avro.generated.record`, nullable types as `["null", T]` unions with default
 * null, TINYINT/SMALLINT/INT → int, BIGINT → long, DECIMAL(p, s) → bytes with the decimal logical
 * type, DATE → int `date`, TIME → int `time-millis`, TIMESTAMP / TIMESTAMP_LTZ → long
 * `timestamp-millis`, ARRAY → array, MAP → map, ROW → record `<parent>_<field>`.
 */
import avsc from 'avsc';
import { TributaryError, errorMessage } from '../../errors.js';
import { formatDataType } from '../data-types.js';
import { registerFormat } from '../factories.js';
import type {
  DataType,
  FormatContext,
  FormatDecoder,
  FormatEncoder,
  FormatFactory,
  Row,
} from '../types.js';
import { rowError, toRowValue, type ConvertOptions, type ValuePlace } from '../types/values.js';
import { decodeError, enumOption, formatOptionError } from './format-options.js';

const RECORD_NAME = 'org.apache.flink.avro.generated.record';
const CONVERT: ConvertOptions = { timestampFormat: 'SQL', epochNumbers: true };

type AvroSchema = string | Record<string, unknown> | AvroSchema[];

/** Flink's Avro schema for a type (`name`: the record name of a ROW). */
export function avroSchemaOf(type: DataType, name: string): AvroSchema {
  let s: AvroSchema;
  switch (type.root) {
    case 'BOOLEAN':
      s = 'boolean';
      break;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
      s = 'int';
      break;
    case 'BIGINT':
      s = 'long';
      break;
    case 'FLOAT':
      s = 'float';
      break;
    case 'DOUBLE':
      s = 'double';
      break;
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      s = 'string';
      break;
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      s = 'bytes';
      break;
    case 'DECIMAL':
      s = {
        type: 'bytes',
        logicalType: 'decimal',
        precision: type.precision ?? 10,
        scale: type.scale ?? 0,
      };
      break;
    case 'DATE':
      s = { type: 'int', logicalType: 'date' };
      break;
    case 'TIME':
      s = { type: 'int', logicalType: 'time-millis' };
      break;
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      s = { type: 'long', logicalType: 'timestamp-millis' };
      break;
    case 'ARRAY':
      s = { type: 'array', items: avroSchemaOf(type.element!, name) };
      break;
    case 'MAP':
      s = { type: 'map', values: avroSchemaOf(type.value!, name) };
      break;
    case 'ROW':
      s = {
        type: 'record',
        name,
        fields: (type.fields ?? []).map((f) => {
          const fs = avroSchemaOf(f.type, `${name}_${f.name}`);
          return f.type.nullable
            ? { name: f.name, type: fs, default: null }
            : { name: f.name, type: fs };
        }),
      };
      break;
  }
  return type.nullable ? ['null', s] : s;
}

/** The table's record schema. */
export function tableAvroSchema(ctx: FormatContext): AvroSchema {
  const row: DataType = {
    root: 'ROW',
    nullable: false,
    fields: ctx.columns.map((c) => ({ name: c.name, type: c.type })),
  };
  return avroSchemaOf(row, RECORD_NAME);
}

function unscaledToBytes(unscaled: bigint): Buffer {
  let hex = (unscaled < 0n ? -unscaled : unscaled).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (unscaled < 0n) {
    // two's complement of the magnitude
    const inv = Buffer.from(bytes.map((b) => ~b & 0xff));
    let carry = 1;
    for (let i = inv.length - 1; i >= 0 && carry; i--) {
      const v = inv[i]! + carry;
      inv[i] = v & 0xff;
      carry = v >> 8;
    }
    bytes = (inv[0]! & 0x80) === 0 ? Buffer.concat([Buffer.from([0xff]), inv]) : inv;
  } else if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) {
    bytes = Buffer.concat([Buffer.from([0]), bytes]);
  }
  return bytes;
}

function bytesToUnscaled(b: Buffer): bigint {
  if (b.length === 0) return 0n;
  const n = BigInt(`0x${b.toString('hex')}`);
  return (b[0]! & 0x80) !== 0 ? n - (1n << BigInt(8 * b.length)) : n;
}

function fromAvro(v: unknown, type: DataType, place: ValuePlace): unknown {
  if (v === null || v === undefined) return toRowValue(null, type, place, CONVERT);
  switch (type.root) {
    case 'DECIMAL': {
      const scale = type.scale ?? 0;
      const n = Number(bytesToUnscaled(v as Buffer)) / 10 ** scale;
      return toRowValue(n, type, place, CONVERT);
    }
    case 'ARRAY':
      return (v as unknown[]).map((e, i) =>
        fromAvro(e, type.element!, { ...place, column: `${place.column}[${i}]` }),
      );
    case 'MAP':
    case 'ROW': {
      const input = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      if (type.root === 'MAP') {
        for (const [k, e] of Object.entries(input))
          out[k] = fromAvro(e, type.value!, { ...place, column: `${place.column}.${k}` });
      } else {
        for (const f of type.fields ?? [])
          out[f.name] = fromAvro(input[f.name], f.type, {
            ...place,
            column: `${place.column}.${f.name}`,
          });
      }
      return out;
    }
    default:
      return toRowValue(v, type, place, CONVERT);
  }
}

function toAvro(v: unknown, type: DataType, place: ValuePlace): unknown {
  if (v === null || v === undefined) {
    if (!type.nullable) throw rowError(place, type, v, 'is null, but the type is NOT NULL');
    return null;
  }
  switch (type.root) {
    case 'DECIMAL': {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw rowError(place, type, v, 'is not a number');
      const scale = type.scale ?? 0;
      const digits = v.toFixed(scale).replace('.', '');
      const unscaled = BigInt(digits);
      if ((unscaled < 0n ? -unscaled : unscaled).toString().length > (type.precision ?? 10)) {
        throw rowError(place, type, v, `does not fit ${formatDataType(type)}`);
      }
      return unscaledToBytes(unscaled);
    }
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      if (v instanceof Uint8Array) return Buffer.from(v);
      if (typeof v === 'string') return Buffer.from(v, 'base64');
      throw rowError(place, type, v, 'is not a Buffer');
    case 'ARRAY':
      if (!Array.isArray(v)) throw rowError(place, type, v, 'is not an array');
      return v.map((e, i) =>
        toAvro(e, type.element!, { ...place, column: `${place.column}[${i}]` }),
      );
    case 'MAP':
    case 'ROW': {
      if (typeof v !== 'object' || Array.isArray(v))
        throw rowError(place, type, v, 'is not an object');
      const input = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      if (type.root === 'MAP') {
        for (const [k, e] of Object.entries(input))
          out[k] = toAvro(e, type.value!, { ...place, column: `${place.column}.${k}` });
      } else {
        for (const f of type.fields ?? [])
          out[f.name] = toAvro(input[f.name], f.type, {
            ...place,
            column: `${place.column}.${f.name}`,
          });
      }
      return out;
    }
    default:
      return v;
  }
}

/**
 * Avro longs as JS numbers over the whole safe range (avsc's own long stops at ±2^52); a long
 * beyond ±2^53 decodes to a bigint, which the BIGINT column then refuses by name.
 */
const longType = avsc.types.LongType.__with({
  fromBuffer: (buf: Buffer): number | bigint => {
    const n = buf.readBigInt64LE();
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n;
  },
  toBuffer: (n: number | bigint): Buffer => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: unknown): number => Number(n),
  toJSON: (n: number | bigint): number => Number(n),
  isValid: (n: unknown): boolean =>
    (typeof n === 'number' && Number.isSafeInteger(n)) || typeof n === 'bigint',
  compare: (a: number | bigint, b: number | bigint): number => (a === b ? 0 : a < b ? -1 : 1),
});

function avroType(ctx: FormatContext): avsc.Type {
  const encoding = enumOption(ctx, 'avro.encoding', ['binary', 'json'] as const, 'binary');
  if (encoding === 'json') {
    throw formatOptionError(
      ctx,
      'avro.encoding',
      `'json' is not supported: events are Avro binary datums`,
    );
  }
  if (ctx.options['avro.codec'] !== undefined) {
    throw formatOptionError(
      ctx,
      'avro.codec',
      'applies to Avro container files only: each event is one plain binary datum (no header, no compression), as Flink writes per message; remove it',
    );
  }
  return avsc.Type.forSchema(tableAvroSchema(ctx) as avsc.Schema, { registry: { long: longType } });
}

export const avroFormat: FormatFactory = {
  identifier: 'avro',
  optionKeys: ['avro.encoding', 'avro.codec'],
  async createDecoder(ctx: FormatContext): Promise<FormatDecoder> {
    const type = avroType(ctx);
    return {
      changelogMode: 'insert-only',
      decode(payload: Buffer): Row[] {
        let record: Record<string, unknown>;
        try {
          record = type.fromBuffer(payload) as Record<string, unknown>;
        } catch (err) {
          throw decodeError(
            ctx,
            'avro',
            `not an Avro datum of the table's schema (${errorMessage(err)})`,
            err,
          );
        }
        const row: Row = {};
        for (const c of ctx.columns) {
          row[c.name] = fromAvro(record[c.name], c.type, { table: ctx.tableName, column: c.name });
        }
        return [row];
      },
    };
  },
  async createEncoder(ctx: FormatContext): Promise<FormatEncoder> {
    const type = avroType(ctx);
    return {
      acceptsChanges: false,
      encode(row: Row, kind): Buffer {
        if (kind !== '+I' && kind !== '+U') {
          throw new TributaryError(
            'ILLEGAL_STATE',
            `table ${ctx.tableName}: the avro format writes inserts only, got a ${kind} row`,
          );
        }
        const record: Record<string, unknown> = {};
        for (const c of ctx.columns) {
          record[c.name] = toAvro(row[c.name], c.type, { table: ctx.tableName, column: c.name });
        }
        try {
          return type.toBuffer(record);
        } catch (err) {
          throw new TributaryError(
            'ILLEGAL_ARGUMENT',
            `table ${ctx.tableName}: row does not fit the Avro schema: ${errorMessage(err)}`,
            { cause: err },
          );
        }
      },
    };
  },
};

registerFormat(avroFormat);
