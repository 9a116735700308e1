/**
 * Expressions: typed at plan time (unknown column, wrong argument types → error with position),
 * then compiled to closures over a {@link Row}. SQL three-valued logic: NULL propagates through
 * operators and functions; AND/OR follow Kleene logic; WHERE keeps a row only when TRUE.
 */
import type { DataType, Row, TypeRoot } from '../types.js';
import type { Expr, Pos } from './ast.js';
import { sqlError } from './parse.js';
import { castValue, SCALAR_FUNCTIONS, type Family } from './scalar-functions.js';

export type Evaluator = (row: Row) => unknown;

export interface Compiled {
  /** null: the NULL literal (any type) */
  readonly type: DataType | null;
  readonly eval: Evaluator;
}

/** Name → type of the columns an expression may reference. */
export type Scope = ReadonlyMap<string, DataType>;

const T = (root: TypeRoot, nullable = true, precision?: number): DataType =>
  precision === undefined ? { root, nullable } : { root, nullable, precision };

export function familyOf(type: DataType | null): Family {
  if (type === null) return 'null';
  switch (type.root) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      return 'numeric';
    case 'CHAR':
    case 'VARCHAR':
    case 'STRING':
      return 'string';
    case 'BOOLEAN':
      return 'boolean';
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return 'temporal';
    case 'BINARY':
    case 'VARBINARY':
    case 'BYTES':
      return 'binary';
    default:
      return 'other';
  }
}

const NUMERIC_RANK: Partial<Record<TypeRoot, number>> = {
  TINYINT: 1,
  SMALLINT: 2,
  INT: 3,
  BIGINT: 4,
  DECIMAL: 5,
  FLOAT: 6,
  DOUBLE: 7,
};

function widerNumeric(a: DataType | null, b: DataType | null): DataType {
  const ra = a ? (NUMERIC_RANK[a.root] ?? 0) : 0;
  const rb = b ? (NUMERIC_RANK[b.root] ?? 0) : 0;
  const wider = ra >= rb ? a : b;
  return wider ?? T('INT');
}

const nullable = (t: DataType | null): DataType | null => (t ? { ...t, nullable: true } : null);

function expect(what: string, c: Compiled, families: readonly Family[], pos: Pos): void {
  const f = familyOf(c.type);
  if (f !== 'null' && !families.includes(f)) {
    throw sqlError(`${what} expects ${families.join(' or ')}, got ${c.type?.root ?? 'NULL'}`, pos);
  }
}

/** Comparable: both numeric, both strings, both temporal, both booleans (or a NULL). */
function comparable(op: string, l: Compiled, r: Compiled, pos: Pos): void {
  const fl = familyOf(l.type);
  const fr = familyOf(r.type);
  if (fl === 'null' || fr === 'null' || fl === fr) return;
  throw sqlError(`cannot compare ${l.type?.root} with ${r.type?.root} using ${op}`, pos);
}

function compare(a: unknown, b: unknown): number {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
}

export function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class ExpressionCompiler {
  constructor(private readonly scope: Scope) {}

  compile(e: Expr): Compiled {
    switch (e.k) {
      case 'col': {
        const type = this.scope.get(e.name);
        if (type === undefined) {
          const known = [...this.scope.keys()].join(', ');
          throw sqlError(`column '${e.name}' not found (columns: ${known})`, e.pos);
        }
        const name = e.name;
        return { type, eval: (row) => row[name] ?? null };
      }
      case 'lit': {
        const v = e.value;
        return { type: e.type, eval: () => v };
      }
      case 'interval': {
        const ms = e.ms;
        return {
          type: { root: 'BIGINT', nullable: false, rowtime: false, precision: -1 },
          eval: () => ms,
        };
      }
      case 'unit':
        throw sqlError(
          `the time unit ${e.unit} is only an argument of TIMESTAMPADD/TIMESTAMPDIFF`,
          e.pos,
        );
      case 'not': {
        const inner = this.compile(e.e);
        expect('NOT', inner, ['boolean'], e.pos);
        return {
          type: nullable(T('BOOLEAN')),
          eval: (row) => {
            const v = inner.eval(row);
            return v === null ? null : !v;
          },
        };
      }
      case 'neg': {
        const inner = this.compile(e.e);
        expect('unary -', inner, ['numeric'], e.pos);
        return {
          type: inner.type,
          eval: (row) => {
            const v = inner.eval(row);
            return v === null ? null : -(v as number);
          },
        };
      }
      case 'is': {
        const inner = this.compile(e.e);
        const { what, not } = e;
        if (what !== 'NULL') expect(`IS ${what}`, inner, ['boolean'], e.pos);
        return {
          type: T('BOOLEAN', false),
          eval: (row) => {
            const v = inner.eval(row);
            const r = what === 'NULL' ? v === null : v === (what === 'TRUE');
            return not ? !r : r;
          },
        };
      }
      case 'in': {
        const inner = this.compile(e.e);
        const list = e.list.map((x) => this.compile(x));
        for (const l of list) comparable('IN', inner, l, e.pos);
        const not = e.not;
        return {
          type: T('BOOLEAN'),
          eval: (row) => {
            const v = inner.eval(row);
            if (v === null) return null;
            let sawNull = false;
            for (const l of list) {
              const x = l.eval(row);
              if (x === null) sawNull = true;
              else if (compare(v, x) === 0) return !not;
            }
            return sawNull ? null : not;
          },
        };
      }
      case 'between': {
        const v = this.compile(e.e);
        const lo = this.compile(e.lo);
        const hi = this.compile(e.hi);
        comparable('BETWEEN', v, lo, e.pos);
        comparable('BETWEEN', v, hi, e.pos);
        const not = e.not;
        return {
          type: T('BOOLEAN'),
          eval: (row) => {
            const x = v.eval(row);
            const a = lo.eval(row);
            const b = hi.eval(row);
            const ge = x === null || a === null ? null : compare(x, a) >= 0;
            const le = x === null || b === null ? null : compare(x, b) <= 0;
            const r = and(ge, le);
            return r === null ? null : not ? !r : r;
          },
        };
      }
      case 'like': {
        const v = this.compile(e.e);
        const p = this.compile(e.pattern);
        expect(e.similar ? 'SIMILAR TO' : 'LIKE', v, ['string'], e.pos);
        expect(e.similar ? 'SIMILAR TO' : 'LIKE', p, ['string'], e.pos);
        const { not, similar } = e;
        const cache = new Map<string, RegExp>();
        return {
          type: T('BOOLEAN'),
          eval: (row) => {
            const s = v.eval(row);
            const pat = p.eval(row);
            if (s === null || pat === null) return null;
            let re = cache.get(pat as string);
            if (re === undefined) {
              re = similar ? new RegExp(`^(?:${pat as string})$`) : likeToRegExp(pat as string);
              cache.set(pat as string, re);
            }
            const r = re.test(s as string);
            return not ? !r : r;
          },
        };
      }
      case 'case':
        return this.caseWhen(e);
      case 'cast': {
        const inner = this.compile(e.e);
        const to = e.type;
        const from = inner.type;
        const pos = e.pos;
        return {
          type: { ...to, nullable: true },
          eval: (row) => castValue(inner.eval(row), from, to, pos),
        };
      }
      case 'bin':
        return this.binary(e);
      case 'call':
        return this.call(e);
    }
  }

  private caseWhen(e: Extract<Expr, { k: 'case' }>): Compiled {
    const operand = e.operand ? this.compile(e.operand) : undefined;
    const whens = e.whens.map((w) => ({ when: this.compile(w.when), then: this.compile(w.then) }));
    const otherwise = e.otherwise ? this.compile(e.otherwise) : undefined;
    for (const w of whens) {
      if (operand) comparable('CASE', operand, w.when, e.pos);
      else expect('CASE WHEN', w.when, ['boolean'], e.pos);
    }
    const results = [...whens.map((w) => w.then), ...(otherwise ? [otherwise] : [])];
    const type = resultType('CASE', results, e.pos);
    return {
      type: nullable(type),
      eval: (row) => {
        const v = operand?.eval(row);
        for (const w of whens) {
          const c = w.when.eval(row);
          if (operand ? v !== null && c !== null && compare(v, c) === 0 : c === true) {
            return w.then.eval(row);
          }
        }
        return otherwise ? otherwise.eval(row) : null;
      },
    };
  }

  private binary(e: Extract<Expr, { k: 'bin' }>): Compiled {
    const l = this.compile(e.l);
    const r = this.compile(e.r);
    const op = e.op;
    const pos = e.pos;
    switch (op) {
      case 'AND':
      case 'OR': {
        expect(op, l, ['boolean'], pos);
        expect(op, r, ['boolean'], pos);
        const f = op === 'AND' ? and : or;
        return {
          type: T('BOOLEAN'),
          eval: (row) => f(l.eval(row) as boolean | null, r.eval(row) as boolean | null),
        };
      }
      case '=':
      case '<>':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        comparable(op, l, r, pos);
        const test = {
          '=': (c: number) => c === 0,
          '<>': (c: number) => c !== 0,
          '<': (c: number) => c < 0,
          '<=': (c: number) => c <= 0,
          '>': (c: number) => c > 0,
          '>=': (c: number) => c >= 0,
        }[op];
        return {
          type: T('BOOLEAN'),
          eval: (row) => {
            const a = l.eval(row);
            const b = r.eval(row);
            return a === null || b === null ? null : test(compare(a, b));
          },
        };
      }
      case '||': {
        expect('||', l, ['string'], pos);
        expect('||', r, ['string'], pos);
        return {
          type: T('STRING'),
          eval: (row) => {
            const a = l.eval(row);
            const b = r.eval(row);
            return a === null || b === null ? null : `${a as string}${b as string}`;
          },
        };
      }
      case '+':
      case '-':
      case '*':
      case '/':
      case '%': {
        const interval = (c: Compiled): boolean => c.type?.precision === -1;
        // temporal ± interval
        if ((op === '+' || op === '-') && familyOf(l.type) === 'temporal' && interval(r)) {
          const sign = op === '+' ? 1 : -1;
          return {
            type: l.type,
            eval: (row) => {
              const a = l.eval(row);
              const b = r.eval(row);
              return a === null || b === null ? null : (a as number) + sign * (b as number);
            },
          };
        }
        if (op === '+' && interval(l) && familyOf(r.type) === 'temporal') {
          return {
            type: r.type,
            eval: (row) => {
              const a = l.eval(row);
              const b = r.eval(row);
              return a === null || b === null ? null : (a as number) + (b as number);
            },
          };
        }
        expect(`operator ${op}`, l, ['numeric'], pos);
        expect(`operator ${op}`, r, ['numeric'], pos);
        const type = widerNumeric(l.type, r.type);
        const integral = (NUMERIC_RANK[type.root] ?? 0) <= 4;
        const f: (a: number, b: number) => number | null = {
          '+': (a: number, b: number) => a + b,
          '-': (a: number, b: number) => a - b,
          '*': (a: number, b: number) => a * b,
          '/': (a: number, b: number): number | null => {
            if (b === 0) throw sqlError('division by zero', pos);
            return integral ? Math.trunc(a / b) : a / b;
          },
          '%': (a: number, b: number): number | null => {
            if (b === 0) throw sqlError('division by zero (%)', pos);
            return a % b;
          },
        }[op];
        return {
          type: { ...type, nullable: true },
          eval: (row) => {
            const a = l.eval(row);
            const b = r.eval(row);
            return a === null || b === null ? null : f(a as number, b as number);
          },
        };
      }
      default:
        throw sqlError(`operator ${op} is not supported`, pos);
    }
  }

  private call(e: Extract<Expr, { k: 'call' }>): Compiled {
    const fn = SCALAR_FUNCTIONS[e.name];
    if (fn === undefined) {
      if (['COUNT', 'SUM', 'MIN', 'MAX', 'AVG'].includes(e.name)) {
        throw sqlError(
          `${e.name} is an aggregate: use it in a SELECT with GROUP BY window_start, window_end over TUMBLE/HOP/CUMULATE`,
          e.pos,
        );
      }
      throw sqlError(`unknown function ${e.name}`, e.pos);
    }
    if (e.star || e.distinct)
      throw sqlError(`${e.name}(${e.star ? '*' : 'DISTINCT'}) is not valid`, e.pos);
    if (fn.unitArg === true) {
      const [unit, ...rest] = e.args;
      if (unit?.k !== 'unit')
        throw sqlError(`${e.name} takes a time unit (SECOND, MINUTE, ...) first`, e.pos);
      const args = rest.map((a) => this.compile(a));
      const type = fn.check(
        args.map((a) => a.type),
        e.pos,
        unit.unit,
      );
      return {
        type,
        eval: (row) =>
          fn.apply(
            args.map((a) => a.eval(row)),
            unit.unit,
            args.map((a) => a.type),
          ),
      };
    }
    const args = e.args.map((a) => this.compile(a));
    const type = fn.check(
      args.map((a) => a.type),
      e.pos,
      undefined,
    );
    const types = args.map((a) => a.type);
    const strict = fn.nullSafe !== true;
    if (args.length === 1) {
      const a0 = args[0]!.eval;
      return {
        type,
        eval: (row) => {
          const v = a0(row);
          return strict && v === null ? null : fn.apply([v], undefined, types);
        },
      };
    }
    return {
      type,
      eval: (row) => {
        const values = args.map((a) => a.eval(row));
        if (strict && values.some((v) => v === null)) return null;
        return fn.apply(values, undefined, types);
      },
    };
  }
}

function and(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function or(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

/** The common type of CASE branches, COALESCE arguments and the like. */
export function resultType(what: string, results: readonly Compiled[], pos: Pos): DataType | null {
  let type: DataType | null = null;
  for (const r of results) {
    if (r.type === null) continue;
    if (type === null) type = r.type;
    else if (familyOf(type) !== familyOf(r.type)) {
      throw sqlError(`${what}: branches of types ${type.root} and ${r.type.root} do not mix`, pos);
    } else if (familyOf(type) === 'numeric') type = widerNumeric(type, r.type);
  }
  return type;
}
