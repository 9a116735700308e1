/**
 * Built-in scalar functions and CAST. Each function checks its argument types at plan time and
 * names itself in the error. Values follow the table in `src/table/types.ts` (timestamps are
 * epoch ms, dates days since the epoch); time zone: UTC (the session time zone of Flink's
 * default `table.local-time-zone` on a UTC machine).
 */
import { TributaryError } from '../../errors.js';
import type { DataType, TypeRoot } from '../types.js';
import type { Pos } from './ast.js';
import { sqlError } from './parse.js';

export type Family = 'numeric' | 'string' | 'boolean' | 'temporal' | 'binary' | 'null' | 'other';

export interface ScalarFunction {
  /** argument types → result type; throws a positioned error on wrong arguments */
  check(args: readonly (DataType | null)[], pos: Pos, unit: string | undefined): DataType;
  apply(
    args: readonly unknown[],
    unit: string | undefined,
    types: readonly (DataType | null)[],
  ): unknown;
  /** true: called with NULL arguments too (COALESCE, IF, CONCAT_WS...) */
  readonly nullSafe?: boolean | undefined;
  /** true: the first argument is a time unit (TIMESTAMPADD) */
  readonly unitArg?: boolean | undefined;
}

const T = (root: TypeRoot): DataType => ({ root, nullable: true });

function family(type: DataType | null): Family {
  if (type === null) return 'null';
  if (['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'DECIMAL'].includes(type.root))
    return 'numeric';
  if (['CHAR', 'VARCHAR', 'STRING'].includes(type.root)) return 'string';
  if (type.root === 'BOOLEAN') return 'boolean';
  if (['DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMP_LTZ'].includes(type.root)) return 'temporal';
  if (['BINARY', 'VARBINARY', 'BYTES'].includes(type.root)) return 'binary';
  return 'other';
}

/** A signature: argument families (`?` suffix = optional), result type (or a function of args). */
function fn(
  name: string,
  params: readonly string[],
  result: DataType | ((args: readonly (DataType | null)[]) => DataType),
  apply: ScalarFunction['apply'],
  extra: { nullSafe?: boolean; unitArg?: boolean; variadic?: boolean } = {},
): ScalarFunction {
  const required = params.filter((p) => !p.endsWith('?')).length;
  return {
    nullSafe: extra.nullSafe,
    unitArg: extra.unitArg,
    check(args, pos) {
      const max = extra.variadic === true ? Infinity : params.length;
      if (args.length < required || args.length > max) {
        const n =
          required === params.length
            ? `${required}`
            : `${required} to ${extra.variadic === true ? 'n' : params.length}`;
        throw sqlError(`${name} takes ${n} argument(s), got ${args.length}`, pos);
      }
      args.forEach((a, i) => {
        const want = (params[Math.min(i, params.length - 1)] ?? 'any').replace(/\?$/, '');
        const f = family(a);
        if (want === 'any' || f === 'null') return;
        if (!want.split('|').includes(f)) {
          throw sqlError(
            `${name}: argument ${i + 1} must be ${want.replace('|', ' or ')}, got ${a?.root}`,
            pos,
          );
        }
      });
      return typeof result === 'function' ? result(args) : result;
    },
    apply,
  };
}

const num = (v: unknown): number => v as number;
const str = (v: unknown): string => v as string;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Java/Flink date patterns (yyyy MM dd HH mm ss SSS) on a UTC epoch-ms value. */
export function formatTimestamp(ms: number, pattern = 'yyyy-MM-dd HH:mm:ss'): string {
  const d = new Date(ms);
  return pattern.replace(/yyyy|MM|dd|HH|mm|ss|SSS/g, (t) => {
    switch (t) {
      case 'yyyy':
        return pad(d.getUTCFullYear(), 4);
      case 'MM':
        return pad(d.getUTCMonth() + 1);
      case 'dd':
        return pad(d.getUTCDate());
      case 'HH':
        return pad(d.getUTCHours());
      case 'mm':
        return pad(d.getUTCMinutes());
      case 'ss':
        return pad(d.getUTCSeconds());
      default:
        return pad(d.getUTCMilliseconds(), 3);
    }
  });
}

/** Parses a timestamp string in a Java date pattern (default `yyyy-MM-dd HH:mm:ss[.SSS]`); null when it does not match. */
export function parseTimestamp(text: string, pattern?: string): number | null {
  const fields = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss', 'SSS'];
  let re: RegExp;
  let order: string[];
  if (pattern === undefined) {
    re =
      /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?\s*$/;
    order = fields;
  } else {
    order = [];
    const source = pattern.replace(/yyyy|MM|dd|HH|mm|ss|SSS|[.*+?^${}()|[\]\\]/g, (t) => {
      if (fields.includes(t)) {
        order.push(t);
        return t === 'yyyy' ? '(\\d{4})' : t === 'SSS' ? '(\\d{1,9})' : '(\\d{1,2})';
      }
      return `\\${t}`;
    });
    re = new RegExp(`^${source}$`);
  }
  const m = re.exec(text);
  if (m === null) return null;
  const part = (f: string): number => {
    const i = order.indexOf(f);
    const v = i < 0 ? undefined : m[i + 1];
    if (v === undefined) return f === 'MM' || f === 'dd' ? 1 : 0;
    return f === 'SSS' ? Number(v.padEnd(3, '0').slice(0, 3)) : Number(v);
  };
  const ms = Date.UTC(
    part('yyyy'),
    part('MM') - 1,
    part('dd'),
    part('HH'),
    part('mm'),
    part('ss'),
    part('SSS'),
  );
  return Number.isNaN(ms) ? null : ms;
}

const UNIT_MS: Record<string, number> = {
  MILLISECOND: 1,
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
  WEEK: 7 * 86_400_000,
};

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

const MONTHS: Record<string, number> = { MONTH: 1, QUARTER: 3, YEAR: 12 };

function wider(args: readonly (DataType | null)[]): DataType {
  const rank = ['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'DECIMAL', 'FLOAT', 'DOUBLE'];
  let best: DataType = T('INT');
  for (const a of args) if (a && rank.indexOf(a.root) > rank.indexOf(best.root)) best = a;
  return { ...best, nullable: true };
}

function firstNonNull(args: readonly (DataType | null)[]): DataType {
  const t = args.find((a) => a !== null);
  return t ? { ...t, nullable: true } : T('STRING');
}

function checkedInt(v: number, pos: string): number {
  if (!Number.isFinite(v))
    throw new TributaryError('ILLEGAL_ARGUMENT', `SQL: ${pos}: result is not a finite number`);
  return v;
}

function roundTo(v: number, digits: number): number {
  const f = 10 ** digits;
  return (Math.sign(v) * Math.round(Math.abs(v) * f)) / f;
}

export const SCALAR_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  // strings
  UPPER: fn('UPPER', ['string'], T('STRING'), ([s]) => str(s).toUpperCase()),
  LOWER: fn('LOWER', ['string'], T('STRING'), ([s]) => str(s).toLowerCase()),
  TRIM: fn('TRIM', ['string'], T('STRING'), ([s]) => str(s).replace(/^ +| +$/g, '')),
  LTRIM: fn('LTRIM', ['string'], T('STRING'), ([s]) => str(s).replace(/^ +/, '')),
  RTRIM: fn('RTRIM', ['string'], T('STRING'), ([s]) => str(s).replace(/ +$/, '')),
  CHAR_LENGTH: fn('CHAR_LENGTH', ['string'], T('INT'), ([s]) => [...str(s)].length),
  CHARACTER_LENGTH: fn('CHARACTER_LENGTH', ['string'], T('INT'), ([s]) => [...str(s)].length),
  CONCAT: fn('CONCAT', ['string', 'string?'], T('STRING'), (a) => a.map(str).join(''), {
    variadic: true,
  }),
  CONCAT_WS: fn(
    'CONCAT_WS',
    ['string', 'string', 'string?'],
    T('STRING'),
    ([sep, ...rest]) =>
      sep === null
        ? null
        : rest
            .filter((v) => v !== null)
            .map(str)
            .join(str(sep)),
    { variadic: true, nullSafe: true },
  ),
  SUBSTRING: fn('SUBSTRING', ['string', 'numeric', 'numeric?'], T('STRING'), ([s, start, len]) =>
    substring(str(s), num(start), len as number | undefined),
  ),
  SUBSTR: fn('SUBSTR', ['string', 'numeric', 'numeric?'], T('STRING'), ([s, start, len]) =>
    substring(str(s), num(start), len as number | undefined),
  ),
  REPLACE: fn('REPLACE', ['string', 'string', 'string'], T('STRING'), ([s, a, b]) =>
    str(s).split(str(a)).join(str(b)),
  ),
  POSITION: fn(
    'POSITION',
    ['string', 'string'],
    T('INT'),
    ([needle, hay]) => str(hay).indexOf(str(needle)) + 1,
  ),
  LOCATE: fn(
    'LOCATE',
    ['string', 'string'],
    T('INT'),
    ([needle, hay]) => str(hay).indexOf(str(needle)) + 1,
  ),
  LEFT: fn('LEFT', ['string', 'numeric'], T('STRING'), ([s, n]) =>
    str(s).slice(0, Math.max(0, num(n))),
  ),
  RIGHT: fn('RIGHT', ['string', 'numeric'], T('STRING'), ([s, n]) =>
    num(n) <= 0 ? '' : str(s).slice(-num(n)),
  ),
  REVERSE: fn('REVERSE', ['string'], T('STRING'), ([s]) => [...str(s)].reverse().join('')),
  REPEAT: fn('REPEAT', ['string', 'numeric'], T('STRING'), ([s, n]) =>
    str(s).repeat(Math.max(0, num(n))),
  ),
  LPAD: fn('LPAD', ['string', 'numeric', 'string'], T('STRING'), ([s, n, p]) =>
    str(s).padStart(num(n), str(p)).slice(0, num(n)),
  ),
  RPAD: fn('RPAD', ['string', 'numeric', 'string'], T('STRING'), ([s, n, p]) =>
    str(s).padEnd(num(n), str(p)).slice(0, num(n)),
  ),
  INITCAP: fn('INITCAP', ['string'], T('STRING'), ([s]) =>
    str(s)
      .toLowerCase()
      .replace(/(^|[^a-z0-9])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase()),
  ),
  REGEXP: fn('REGEXP', ['string', 'string'], T('BOOLEAN'), ([s, re]) =>
    new RegExp(str(re)).test(str(s)),
  ),
  REGEXP_REPLACE: fn('REGEXP_REPLACE', ['string', 'string', 'string'], T('STRING'), ([s, re, r]) =>
    str(s).replace(new RegExp(str(re), 'g'), str(r)),
  ),
  REGEXP_EXTRACT: fn(
    'REGEXP_EXTRACT',
    ['string', 'string', 'numeric?'],
    T('STRING'),
    ([s, re, i]) => {
      const m = new RegExp(str(re)).exec(str(s));
      return m?.[i === undefined ? 1 : num(i)] ?? null;
    },
  ),
  // math
  ABS: fn(
    'ABS',
    ['numeric'],
    (a) => wider(a),
    ([x]) => Math.abs(num(x)),
  ),
  ROUND: fn(
    'ROUND',
    ['numeric', 'numeric?'],
    (a) => wider([a[0] ?? null]),
    ([x, d]) => roundTo(num(x), d === undefined ? 0 : num(d)),
  ),
  FLOOR: fn(
    'FLOOR',
    ['numeric'],
    (a) => wider(a),
    ([x]) => Math.floor(num(x)),
  ),
  CEIL: fn(
    'CEIL',
    ['numeric'],
    (a) => wider(a),
    ([x]) => Math.ceil(num(x)),
  ),
  CEILING: fn(
    'CEILING',
    ['numeric'],
    (a) => wider(a),
    ([x]) => Math.ceil(num(x)),
  ),
  MOD: fn(
    'MOD',
    ['numeric', 'numeric'],
    (a) => wider(a),
    ([x, y]) => (num(y) === 0 ? null : num(x) % num(y)),
  ),
  POWER: fn('POWER', ['numeric', 'numeric'], T('DOUBLE'), ([x, y]) =>
    checkedInt(num(x) ** num(y), 'POWER'),
  ),
  SQRT: fn('SQRT', ['numeric'], T('DOUBLE'), ([x]) => (num(x) < 0 ? null : Math.sqrt(num(x)))),
  LN: fn('LN', ['numeric'], T('DOUBLE'), ([x]) => (num(x) <= 0 ? null : Math.log(num(x)))),
  LOG10: fn('LOG10', ['numeric'], T('DOUBLE'), ([x]) => (num(x) <= 0 ? null : Math.log10(num(x)))),
  EXP: fn('EXP', ['numeric'], T('DOUBLE'), ([x]) => Math.exp(num(x))),
  SIGN: fn(
    'SIGN',
    ['numeric'],
    (a) => wider(a),
    ([x]) => Math.sign(num(x)),
  ),
  // conditionals
  COALESCE: fn('COALESCE', ['any'], firstNonNull, (a) => a.find((v) => v !== null) ?? null, {
    variadic: true,
    nullSafe: true,
  }),
  IFNULL: fn('IFNULL', ['any', 'any'], firstNonNull, ([a, b]) => (a === null ? b : a), {
    nullSafe: true,
  }),
  IF: fn(
    'IF',
    ['boolean', 'any', 'any'],
    (a) => firstNonNull(a.slice(1)),
    ([c, a, b]) => (c === true ? a : b),
    { nullSafe: true },
  ),
  NULLIF: fn(
    'NULLIF',
    ['any', 'any'],
    firstNonNull,
    ([a, b]) => (a !== null && a === b ? null : a),
    { nullSafe: true },
  ),
  // time
  CURRENT_TIMESTAMP: fn('CURRENT_TIMESTAMP', [], T('TIMESTAMP_LTZ'), () => Date.now()),
  LOCALTIMESTAMP: fn('LOCALTIMESTAMP', [], T('TIMESTAMP'), () => Date.now()),
  NOW: fn('NOW', [], T('TIMESTAMP_LTZ'), () => Date.now()),
  CURRENT_DATE: fn('CURRENT_DATE', [], T('DATE'), () => Math.floor(Date.now() / 86_400_000)),
  DATE_FORMAT: fn(
    'DATE_FORMAT',
    ['temporal|string', 'string'],
    T('STRING'),
    ([t, f], _u, types) => {
      const ms = family(types[0] ?? null) === 'string' ? parseTimestamp(str(t)) : num(t);
      return ms === null ? null : formatTimestamp(ms, str(f));
    },
  ),
  TO_TIMESTAMP: fn('TO_TIMESTAMP', ['string', 'string?'], T('TIMESTAMP'), ([s, f]) =>
    parseTimestamp(str(s), f === undefined ? undefined : str(f)),
  ),
  TO_TIMESTAMP_LTZ: fn('TO_TIMESTAMP_LTZ', ['numeric', 'numeric?'], T('TIMESTAMP_LTZ'), ([n, p]) =>
    p === undefined || num(p) === 3 ? num(n) : num(n) * 1000,
  ),
  FROM_UNIXTIME: fn('FROM_UNIXTIME', ['numeric', 'string?'], T('STRING'), ([s, f]) =>
    formatTimestamp(num(s) * 1000, f === undefined ? undefined : str(f)),
  ),
  UNIX_TIMESTAMP: fn('UNIX_TIMESTAMP', ['string?', 'string?'], T('BIGINT'), ([s, f]) => {
    if (s === undefined) return Math.floor(Date.now() / 1000);
    const ms = parseTimestamp(str(s), f === undefined ? undefined : str(f));
    return ms === null ? null : Math.floor(ms / 1000);
  }),
  TIMESTAMPADD: fn(
    'TIMESTAMPADD',
    ['numeric', 'temporal'],
    (a) => ({ ...(a[1] ?? T('TIMESTAMP')), nullable: true }),
    ([n, t], unit) => {
      const u = unit ?? 'SECOND';
      const months = MONTHS[u];
      return months === undefined
        ? num(t) + num(n) * (UNIT_MS[u] ?? 1000)
        : addMonths(num(t), num(n) * months);
    },
    { unitArg: true },
  ),
  TIMESTAMPDIFF: fn(
    'TIMESTAMPDIFF',
    ['temporal', 'temporal'],
    T('INT'),
    ([a, b], unit) => {
      const u = unit ?? 'SECOND';
      const months = MONTHS[u];
      if (months !== undefined) {
        const da = new Date(num(a));
        const db = new Date(num(b));
        const m =
          (db.getUTCFullYear() - da.getUTCFullYear()) * 12 + db.getUTCMonth() - da.getUTCMonth();
        return Math.trunc(m / months);
      }
      return Math.trunc((num(b) - num(a)) / (UNIT_MS[u] ?? 1000));
    },
    { unitArg: true },
  ),
};

function substring(s: string, start: number, len: number | undefined): string {
  const chars = [...s];
  const from = start > 0 ? start - 1 : start === 0 ? 0 : Math.max(0, chars.length + start);
  return chars.slice(from, len === undefined ? undefined : from + Math.max(0, len)).join('');
}

const INT_RANGE: Partial<Record<TypeRoot, [number, number]>> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INT: [-2147483648, 2147483647],
  BIGINT: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** CAST(value AS to). An impossible cast (a string that is no number) is an error, as in Flink. */
export function castValue(v: unknown, from: DataType | null, to: DataType, pos: Pos): unknown {
  if (v === null || v === undefined) return null;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const fail = (): never => {
    throw sqlError(
      `CAST of '${text}' (${from?.root ?? 'NULL'}) to ${to.root} is not possible`,
      pos,
    );
  };
  const ff = family(from);
  switch (to.root) {
    case 'BOOLEAN':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return v !== 0;
      if (typeof v === 'string') {
        const s = v.trim().toLowerCase();
        if (s === 'true') return true;
        if (s === 'false') return false;
      }
      return fail();
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT': {
      const n =
        typeof v === 'boolean'
          ? v
            ? 1
            : 0
          : typeof v === 'string'
            ? Number(v.trim())
            : (v as number);
      if (typeof n !== 'number' || Number.isNaN(n) || (typeof v === 'string' && v.trim() === ''))
        return fail();
      const t = Math.trunc(n);
      const [lo, hi] = INT_RANGE[to.root]!;
      if (t < lo || t > hi) throw sqlError(`CAST of ${text} to ${to.root} overflows`, pos);
      return t;
    }
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL': {
      const n =
        typeof v === 'boolean'
          ? v
            ? 1
            : 0
          : typeof v === 'string'
            ? Number(v.trim())
            : (v as number);
      if (typeof n !== 'number' || Number.isNaN(n) || (typeof v === 'string' && v.trim() === ''))
        return fail();
      return to.root === 'DECIMAL' && to.scale !== undefined ? roundTo(n, to.scale) : n;
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING': {
      let s: string;
      if (ff === 'temporal' && typeof v === 'number') s = formatTemporal(v, from!.root);
      else if (Buffer.isBuffer(v)) s = v.toString('utf8');
      else if (typeof v === 'boolean') s = v ? 'TRUE' : 'FALSE';
      else s = text;
      return to.root !== 'STRING' && to.precision !== undefined && s.length > to.precision
        ? s.slice(0, to.precision)
        : s;
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      if (typeof v === 'number')
        return ff === 'temporal' && from?.root === 'DATE' ? v * 86_400_000 : v;
      if (typeof v === 'string') return parseTimestamp(v) ?? fail();
      return fail();
    case 'DATE':
      if (typeof v === 'number') return from?.root === 'DATE' ? v : Math.floor(v / 86_400_000);
      if (typeof v === 'string') {
        const ms = parseTimestamp(v);
        return ms === null ? fail() : Math.floor(ms / 86_400_000);
      }
      return fail();
    case 'TIME':
      if (typeof v === 'number')
        return from?.root === 'TIME' ? v : ((v % 86_400_000) + 86_400_000) % 86_400_000;
      if (typeof v === 'string') {
        const m = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(v.trim());
        if (!m) return fail();
        return (
          ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 1000 +
          Number((m[4] ?? '0').padEnd(3, '0'))
        );
      }
      return fail();
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      if (Buffer.isBuffer(v)) return v;
      if (typeof v === 'string') return Buffer.from(v, 'utf8');
      return fail();
    default:
      throw sqlError(`CAST to ${to.root} is not supported`, pos);
  }
}

function formatTemporal(v: number, root: TypeRoot): string {
  if (root === 'DATE') return formatTimestamp(v * 86_400_000, 'yyyy-MM-dd');
  if (root === 'TIME') return formatTimestamp(v, 'HH:mm:ss');
  return formatTimestamp(v, 'yyyy-MM-dd HH:mm:ss.SSS');
}
