/**
 * `format = 'raw'`: the event is the value of the table's single physical column — text in
 * `raw.charset` (UTF-8 default), bytes as they are, or a fixed-width number/boolean in
 * `raw.endianness` (big-endian default), as Flink's raw format.
 */
import { TributaryError } from '../../errors.js';
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
import { decodeError, enumOption, formatOptionError } from './format-options.js';

const CHARSETS: Record<string, BufferEncoding> = {
  'UTF-8': 'utf8',
  'UTF-16LE': 'utf16le',
  'ISO-8859-1': 'latin1',
  'US-ASCII': 'ascii',
};

const WIDTH: Partial<Record<DataType['root'], number>> = {
  BOOLEAN: 1,
  TINYINT: 1,
  SMALLINT: 2,
  INT: 4,
  BIGINT: 8,
  FLOAT: 4,
  DOUBLE: 8,
};

interface RawCodec {
  readonly column: string;
  readonly type: DataType;
  readonly decode: (payload: Buffer) => unknown;
  readonly encode: (value: unknown) => Buffer;
}

function rawCodec(ctx: FormatContext): RawCodec {
  const column = ctx.columns[0];
  if (ctx.columns.length !== 1 || column === undefined) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `table ${ctx.tableName}: the raw format needs exactly one physical column, the table has ${ctx.columns.length}`,
    );
  }
  const charsetName = ctx.options['raw.charset'] ?? 'UTF-8';
  const charset = CHARSETS[charsetName.toUpperCase()];
  if (charset === undefined) {
    throw formatOptionError(
      ctx,
      'raw.charset',
      `'${charsetName}' is not supported (supported: ${Object.keys(CHARSETS).join(', ')})`,
    );
  }
  const big =
    enumOption(ctx, 'raw.endianness', ['big-endian', 'little-endian'] as const, 'big-endian') ===
    'big-endian';
  const type = column.type;
  const root = type.root;
  const width = WIDTH[root];
  const bad = (why: string): never => {
    throw decodeError(ctx, 'raw', `column '${column.name}' (${formatDataType(type)}): ${why}`);
  };
  const badValue = (value: unknown): never => {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `table ${ctx.tableName}: column '${column.name}' (${formatDataType(type)}): row value ${String(value)} does not fit the raw format`,
    );
  };
  if (root === 'CHAR' || root === 'VARCHAR' || root === 'STRING') {
    return {
      column: column.name,
      type,
      decode: (p) => p.toString(charset),
      encode: (v) => (typeof v === 'string' ? Buffer.from(v, charset) : badValue(v)),
    };
  }
  if (root === 'BINARY' || root === 'VARBINARY' || root === 'BYTES') {
    return {
      column: column.name,
      type,
      decode: (p) => Buffer.from(p),
      encode: (v) => (v instanceof Uint8Array ? Buffer.from(v) : badValue(v)),
    };
  }
  if (width === undefined) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `table ${ctx.tableName}: the raw format cannot hold column '${column.name}' of type ${formatDataType(type)} (use STRING, BYTES, BOOLEAN, TINYINT…BIGINT, FLOAT or DOUBLE)`,
    );
  }
  return {
    column: column.name,
    type,
    decode: (p) => {
      if (p.length !== width) bad(`expected ${width} bytes, got ${p.length}`);
      switch (root) {
        case 'BOOLEAN':
          return p[0] !== 0;
        case 'TINYINT':
          return p.readInt8(0);
        case 'SMALLINT':
          return big ? p.readInt16BE(0) : p.readInt16LE(0);
        case 'INT':
          return big ? p.readInt32BE(0) : p.readInt32LE(0);
        case 'FLOAT':
          return big ? p.readFloatBE(0) : p.readFloatLE(0);
        case 'DOUBLE':
          return big ? p.readDoubleBE(0) : p.readDoubleLE(0);
        default: {
          const n = big ? p.readBigInt64BE(0) : p.readBigInt64LE(0);
          if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
            bad(`value ${n} is beyond ±2^53, which a JavaScript number cannot hold exactly`);
          }
          return Number(n);
        }
      }
    },
    encode: (v) => {
      const b = Buffer.alloc(width);
      if (root === 'BOOLEAN') {
        if (typeof v !== 'boolean') badValue(v);
        b[0] = v ? 1 : 0;
        return b;
      }
      if (typeof v !== 'number' || !Number.isFinite(v)) return badValue(v);
      try {
        switch (root) {
          case 'TINYINT':
            b.writeInt8(v, 0);
            break;
          case 'SMALLINT':
            if (big) b.writeInt16BE(v, 0);
            else b.writeInt16LE(v, 0);
            break;
          case 'INT':
            if (big) b.writeInt32BE(v, 0);
            else b.writeInt32LE(v, 0);
            break;
          case 'FLOAT':
            if (big) b.writeFloatBE(v, 0);
            else b.writeFloatLE(v, 0);
            break;
          case 'DOUBLE':
            if (big) b.writeDoubleBE(v, 0);
            else b.writeDoubleLE(v, 0);
            break;
          default:
            if (!Number.isSafeInteger(v)) badValue(v);
            if (big) b.writeBigInt64BE(BigInt(v), 0);
            else b.writeBigInt64LE(BigInt(v), 0);
        }
      } catch (err) {
        if (err instanceof TributaryError) throw err;
        return badValue(v);
      }
      return b;
    },
  };
}

export const rawFormat: FormatFactory = {
  identifier: 'raw',
  optionKeys: ['raw.charset', 'raw.endianness'],
  async createDecoder(ctx: FormatContext): Promise<FormatDecoder> {
    const codec = rawCodec(ctx);
    return {
      changelogMode: 'insert-only',
      decode: (payload: Buffer): Row[] => [{ [codec.column]: codec.decode(payload) }],
    };
  },
  async createEncoder(ctx: FormatContext): Promise<FormatEncoder> {
    const codec = rawCodec(ctx);
    return {
      acceptsChanges: false,
      encode(row: Row): Buffer {
        const v = row[codec.column];
        if (v === null || v === undefined) {
          throw new TributaryError(
            'ILLEGAL_ARGUMENT',
            `table ${ctx.tableName}: column '${codec.column}' is null: the raw format cannot write null (a Pravega event has no tombstone)`,
          );
        }
        return codec.encode(v);
      },
    };
  },
};

registerFormat(rawFormat);
