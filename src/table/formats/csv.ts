/**
 * `format = 'csv'`: one CSV line per event, fields in column order, as Flink's CSV format:
 * `csv.field-delimiter` (`,`), `csv.quote-character` (`"`), `csv.disable-quote-character`,
 * `csv.escape-character` (none), `csv.allow-comments` (`#` lines skipped), `csv.null-literal`
 * (none: an empty unquoted field is null; an empty string is written quoted), `csv.ignore-parse-errors`.
 * Timestamps in the SQL form, BYTES as base64. Nested types (ARRAY, MAP, ROW) are refused.
 */
import { TributaryError } from '../../errors.js';
import { formatDataType } from '../data-types.js';
import { registerFormat } from '../factories.js';
import type { FormatContext, FormatDecoder, FormatEncoder, FormatFactory, Row } from '../types.js';
import { toJsonValue, toRowValue, type ConvertOptions } from '../types/values.js';
import {
  boolOption,
  charOption,
  decodeError,
  formatOptionError,
  refuseUnimplemented,
} from './format-options.js';

const UNIMPLEMENTED = [
  'csv.array-element-delimiter',
  'csv.write-bigdecimal-in-scientific-notation',
];
const CONVERT: ConvertOptions = { timestampFormat: 'SQL' };

export interface CsvOptions {
  readonly delimiter: string;
  readonly quote: string | undefined;
  readonly escape: string | undefined;
  readonly allowComments: boolean;
  readonly nullLiteral: string | undefined;
  readonly ignoreParseErrors: boolean;
}

function csvOptions(ctx: FormatContext): CsvOptions {
  refuseUnimplemented(ctx, UNIMPLEMENTED, 'csv');
  const delimiter = charOption(ctx, 'csv.field-delimiter', ',')!;
  const disableQuote = boolOption(ctx, 'csv.disable-quote-character', false);
  if (disableQuote && ctx.options['csv.quote-character'] !== undefined) {
    throw formatOptionError(
      ctx,
      'csv.quote-character',
      `cannot be set with 'csv.disable-quote-character' = true`,
    );
  }
  const quote = disableQuote ? undefined : charOption(ctx, 'csv.quote-character', '"');
  const escape = charOption(ctx, 'csv.escape-character', undefined);
  if (quote === delimiter)
    throw formatOptionError(ctx, 'csv.quote-character', 'must differ from the field delimiter');
  for (const c of ctx.columns) {
    if (c.type.root === 'ARRAY' || c.type.root === 'MAP' || c.type.root === 'ROW') {
      throw new TributaryError(
        'CONFIG_INVALID',
        `table ${ctx.tableName}: the csv format cannot hold column '${c.name}' of type ${formatDataType(c.type)} (nested types are not supported; use json)`,
      );
    }
  }
  return {
    delimiter,
    quote,
    escape,
    allowComments: boolOption(ctx, 'csv.allow-comments', false),
    nullLiteral: ctx.options['csv.null-literal'],
    ignoreParseErrors: boolOption(ctx, 'csv.ignore-parse-errors', false),
  };
}

interface Field {
  readonly text: string;
  readonly quoted: boolean;
}

/** One line → fields; throws on an unterminated quote. */
export function splitCsvLine(line: string, o: CsvOptions): Field[] {
  const fields: Field[] = [];
  let cur = '';
  let quoted = false;
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (o.escape !== undefined && ch === o.escape && i + 1 < line.length) {
      cur += line[++i];
      continue;
    }
    if (inQuotes) {
      if (ch === o.quote) {
        if (line[i + 1] === o.quote) {
          cur += ch;
          i++;
        } else inQuotes = false;
      } else cur += ch;
    } else if (ch === o.quote && cur === '' && !quoted) {
      inQuotes = true;
      quoted = true;
    } else if (ch === o.delimiter) {
      fields.push({ text: cur, quoted });
      cur = '';
      quoted = false;
    } else cur += ch;
  }
  if (inQuotes) throw new Error('a quoted field is not closed');
  fields.push({ text: cur, quoted });
  return fields;
}

function quoteField(text: string, o: CsvOptions): string {
  if (o.quote === undefined) return text;
  const needs =
    text.includes(o.delimiter) ||
    text.includes(o.quote) ||
    /[\r\n]/.test(text) ||
    text !== text.trim() ||
    (o.nullLiteral !== undefined && text === o.nullLiteral) ||
    text === '';
  return needs ? `${o.quote}${text.split(o.quote).join(o.quote + o.quote)}${o.quote}` : text;
}

export const csvFormat: FormatFactory = {
  identifier: 'csv',
  optionKeys: [
    'csv.field-delimiter',
    'csv.quote-character',
    'csv.disable-quote-character',
    'csv.escape-character',
    'csv.allow-comments',
    'csv.null-literal',
    'csv.ignore-parse-errors',
    ...UNIMPLEMENTED,
  ],
  async createDecoder(ctx: FormatContext): Promise<FormatDecoder> {
    const o = csvOptions(ctx);
    const decodeLine = (payload: Buffer): Row[] => {
      const line = payload.toString('utf8').replace(/\r?\n$/, '');
      if (o.allowComments && line.startsWith('#')) return [];
      let fields: Field[];
      try {
        fields = splitCsvLine(line, o);
      } catch (err) {
        throw decodeError(
          ctx,
          'csv',
          `${(err as Error).message}: ${JSON.stringify(line.slice(0, 60))}`,
        );
      }
      if (fields.length !== ctx.columns.length) {
        throw decodeError(
          ctx,
          'csv',
          `${fields.length} field(s) for ${ctx.columns.length} column(s): ${JSON.stringify(line.slice(0, 60))}`,
        );
      }
      const row: Row = {};
      ctx.columns.forEach((c, i) => {
        const f = fields[i]!;
        const isNull =
          (!f.quoted && o.nullLiteral !== undefined && f.text === o.nullLiteral) ||
          (!f.quoted && o.nullLiteral === undefined && f.text === '');
        row[c.name] = toRowValue(
          isNull ? null : f.text,
          c.type,
          { table: ctx.tableName, column: c.name },
          CONVERT,
        );
      });
      return [row];
    };
    return {
      changelogMode: 'insert-only',
      decode(payload: Buffer): Row[] {
        try {
          return decodeLine(payload);
        } catch (err) {
          if (o.ignoreParseErrors && err instanceof TributaryError) return [];
          throw err;
        }
      },
    };
  },
  async createEncoder(ctx: FormatContext): Promise<FormatEncoder> {
    const o = csvOptions(ctx);
    return {
      acceptsChanges: false,
      encode(row: Row, kind): Buffer {
        if (kind !== '+I' && kind !== '+U') {
          throw new TributaryError(
            'ILLEGAL_STATE',
            `table ${ctx.tableName}: the csv format writes inserts only, got a ${kind} row`,
          );
        }
        const parts = ctx.columns.map((c) => {
          const v = toJsonValue(
            row[c.name],
            c.type,
            { table: ctx.tableName, column: c.name },
            CONVERT,
          );
          if (v === null) return o.nullLiteral ?? '';
          return quoteField(typeof v === 'string' ? v : JSON.stringify(v), o);
        });
        return Buffer.from(parts.join(o.delimiter), 'utf8');
      },
    };
  },
};

registerFormat(csvFormat);
