/**
 * Flink SQL text → the subset's AST (`ast.ts`). dt-sql-parser's FlinkSQL grammar parses the
 * whole dialect; this walker accepts the constructs Tributary runs and refuses every other one
 * with an error naming the construct and its `line:column`.
 */
import { TributaryError } from '../../errors.js';
import { parseDataType } from '../data-types.js';
import type { Column, DataType, WatermarkSpec } from '../types.js';
import type { Expr, FromItem, Pos, Query, Select, SelectItem, Statement } from './ast.js';
import { loadSqlParser } from './parser-loader.js';

/** The parts of an ANTLR parse-tree node the walker reads. */
interface Node {
  readonly children?: Node[] | null;
  readonly start?: {
    readonly line: number;
    readonly column: number;
    readonly start: number;
  } | null;
  readonly stop?: { readonly stop: number } | null;
  readonly symbol?: { readonly line: number; readonly column: number; readonly start: number };
  getText(): string;
}

/** A statement outside the supported subset, or an invalid one: names the construct and where. */
export function sqlError(message: string, pos: Pos | undefined): TributaryError {
  const where = pos === undefined ? '' : ` at line ${pos.line}, column ${pos.column + 1}`;
  return new TributaryError('ILLEGAL_ARGUMENT', `SQL: ${message}${where}`, {
    details: pos === undefined ? {} : { line: pos.line, column: pos.column + 1 },
  });
}

function unsupported(construct: string, pos: Pos): TributaryError {
  return new TributaryError(
    'OPERATION_UNSUPPORTED',
    `SQL: ${construct} is not supported by Tributary's SQL subset (line ${pos.line}, column ${pos.column + 1}); see the README's SQL section for what is`,
    { details: { line: pos.line, column: pos.column + 1, construct } },
  );
}

const kind = (n: Node): string => n.constructor.name.replace(/Context$/, '');
const kids = (n: Node): Node[] => n.children ?? [];
const isToken = (n: Node): boolean => n.children === undefined || n.children === null;
const tokenText = (n: Node): string => (isToken(n) ? n.getText().toUpperCase() : '');

function posOf(n: Node): Pos {
  if (n.start) return { line: n.start.line, column: n.start.column };
  if (n.symbol) return { line: n.symbol.line, column: n.symbol.column };
  return { line: 1, column: 0 };
}

function find(n: Node, name: string): Node | undefined {
  for (const c of kids(n)) {
    if (kind(c) === name) return c;
    const deeper = isToken(c) ? undefined : find(c, name);
    if (deeper) return deeper;
  }
  return undefined;
}

function child(n: Node, name: string): Node | undefined {
  return kids(n).find((c) => kind(c) === name);
}

function hasToken(n: Node, text: string): boolean {
  return kids(n).some((c) => tokenText(c) === text);
}

/** Reads an identifier (plain or `quoted`) and dotted paths: `c.d.t` → "c.d.t". */
function identifier(n: Node): string {
  return n
    .getText()
    .split('.')
    .map((p) => (p.startsWith('`') && p.endsWith('`') ? p.slice(1, -1).replace(/``/g, '`') : p))
    .join('.');
}

function stringLiteral(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'"))
    return t.slice(1, -1).replace(/''/g, "'");
  return t;
}

class Walker {
  constructor(
    private readonly sql: string,
    /** parses `SELECT (<text>) FROM x` and returns the select item's node (see selectItem) */
    private readonly reparse: (text: string) => Node | undefined,
  ) {}

  source(n: Node): string {
    if (!n.start || !n.stop) return n.getText();
    return this.sql.slice(n.start.start, n.stop.stop + 1);
  }

  statement(n: Node): Statement {
    const pos = posOf(n);
    switch (kind(n)) {
      case 'SqlStatement':
      case 'DdlStatement':
      case 'DmlStatement':
      case 'CreateTable':
        if (kids(n).length === 1) return this.statement(kids(n)[0]!);
        break;
      case 'SimpleCreateTable':
        return this.createTable(n);
      case 'CreateView': {
        if (!hasToken(n, 'TEMPORARY'))
          throw unsupported('CREATE VIEW (only CREATE TEMPORARY VIEW)', pos);
        const q = child(n, 'QueryStatement')!;
        return {
          kind: 'createView',
          name: identifier(child(n, 'ViewPathCreate')!),
          query: this.query(q),
          text: this.source(q),
          pos,
        };
      }
      case 'CreateCatalog':
        return {
          kind: 'createCatalog',
          name: identifier(child(n, 'CatalogPathCreate')!),
          options: this.withOptions(n),
          pos,
        };
      case 'CreateDatabase':
        return {
          kind: 'createDatabase',
          name: identifier(child(n, 'DatabasePathCreate')!),
          ifNotExists: child(n, 'IfNotExists') !== undefined,
          pos,
        };
      case 'DropTable':
        return {
          kind: 'dropTable',
          name: identifier(child(n, 'TablePath')!),
          ifExists: child(n, 'IfExists') !== undefined,
          pos,
        };
      case 'UseStatement': {
        const catalog = child(n, 'CatalogPath');
        if (catalog) return { kind: 'useCatalog', name: identifier(catalog), pos };
        const db = child(n, 'DatabasePath');
        if (db) return { kind: 'useDatabase', name: identifier(db), pos };
        break;
      }
      case 'ShowStatement': {
        const what = tokenText(kids(n)[1] ?? n);
        if (
          (what === 'CATALOGS' || what === 'DATABASES' || what === 'TABLES') &&
          kids(n).length === 2
        ) {
          return { kind: 'show', what, pos };
        }
        break;
      }
      case 'ExplainStatement': {
        if (child(n, 'ExplainDetails')) throw unsupported('EXPLAIN with details', pos);
        const inner = kids(n).find((c) => !isToken(c));
        if (!inner) break;
        return { kind: 'explain', statement: this.statement(inner), pos };
      }
      case 'InsertStatement': {
        const mul = child(n, 'InsertMulStatement');
        if (mul) {
          return {
            kind: 'statementSet',
            inserts: kids(mul)
              .filter((c) => kind(c) === 'InsertSimpleStatement')
              .map((c) => this.insert(c)),
            pos,
          };
        }
        const simple = child(n, 'InsertSimpleStatement');
        if (simple) return this.insert(simple);
        break;
      }
      case 'QueryStatement':
        throw unsupported('a SELECT on its own (use INSERT INTO <table> SELECT ...)', pos);
      default:
        break;
    }
    throw unsupported(`the statement '${firstWords(this.source(n))}'`, pos);
  }

  insert(n: Node): Extract<Statement, { kind: 'insert' }> {
    const pos = posOf(n);
    if (hasToken(n, 'OVERWRITE')) throw unsupported('INSERT OVERWRITE', pos);
    if (child(n, 'InsertPartitionDefinition')) throw unsupported('INSERT ... PARTITION', pos);
    if (child(n, 'ColumnNameList')) throw unsupported('INSERT with a column list', pos);
    const q = child(n, 'QueryStatement');
    if (!q) throw unsupported('INSERT ... VALUES', pos);
    return {
      kind: 'insert',
      table: identifier(child(n, 'TablePath')!),
      query: this.query(q),
      text: this.source(n),
      pos,
    };
  }

  createTable(n: Node): Statement {
    const pos = posOf(n);
    if (child(n, 'PartitionDefinition'))
      throw unsupported('PARTITIONED BY', posOf(child(n, 'PartitionDefinition')!));
    if (child(n, 'LikeDefinition'))
      throw unsupported('CREATE TABLE ... LIKE', posOf(child(n, 'LikeDefinition')!));
    const columns: Column[] = [];
    let watermark: WatermarkSpec | undefined;
    let primaryKey: string[] | undefined;
    for (const c of kids(n)) {
      const k = kind(c);
      if (k === 'ColumnOptionDefinition') columns.push(this.column(kids(c)[0]!));
      else if (k === 'WatermarkDefinition') {
        const expr = child(c, 'Expression')!;
        watermark = { column: identifier(child(c, 'ColumnName')!), expression: this.source(expr) };
      } else if (k === 'TableConstraint') {
        if (!hasToken(c, 'PRIMARY')) throw unsupported('this table constraint', posOf(c));
        primaryKey = kids(child(c, 'ColumnNameList')!)
          .filter((x) => kind(x) === 'ColumnName')
          .map(identifier);
      }
    }
    const commentIndex = kids(n).findIndex((c) => tokenText(c) === 'COMMENT');
    const comment =
      commentIndex >= 0 ? stringLiteral(kids(n)[commentIndex + 1]!.getText()) : undefined;
    return {
      kind: 'createTable',
      name: identifier(child(n, 'TablePathCreate')!),
      temporary: hasToken(n, 'TEMPORARY'),
      ifNotExists: child(n, 'IfNotExists') !== undefined,
      schema: {
        columns,
        ...(watermark ? { watermark } : {}),
        ...(primaryKey ? { primaryKey } : {}),
      },
      options: this.withOptions(n),
      ...(comment === undefined ? {} : { comment }),
      pos,
    };
  }

  column(n: Node): Column {
    const name = identifier(child(n, 'ColumnNameCreate')!);
    const type = (): DataType => {
      const t = child(n, 'ColumnType')!;
      let text = this.source(t);
      const constraint = child(n, 'ColumnConstraint');
      if (constraint && /NOT\s+NULL/i.test(this.source(constraint))) text += ' NOT NULL';
      try {
        return parseDataType(text);
      } catch (e) {
        throw sqlError(`column '${name}': ${(e as Error).message}`, posOf(t));
      }
    };
    switch (kind(n)) {
      case 'PhysicalColumnDefinition':
        return { kind: 'physical', name, type: type() };
      case 'ComputedColumnDefinition':
        return {
          kind: 'computed',
          name,
          expression: this.source(child(n, 'ComputedColumnExpression')!),
        };
      case 'MetadataColumnDefinition': {
        const key = child(n, 'MetadataKey');
        return {
          kind: 'metadata',
          name,
          type: type(),
          key: key ? stringLiteral(key.getText()) : name,
          virtual: hasToken(n, 'VIRTUAL'),
        };
      }
      default:
        throw unsupported('this column definition', posOf(n));
    }
  }

  withOptions(n: Node): Record<string, string> {
    const options: Record<string, string> = {};
    const list = find(n, 'TablePropertyList');
    for (const p of list ? kids(list).filter((c) => kind(c) === 'TableProperty') : []) {
      const key = stringLiteral(child(p, 'TablePropertyKey')!.getText());
      const value = child(p, 'TablePropertyValue');
      if (Object.hasOwn(options, key)) throw sqlError(`option '${key}' is given twice`, posOf(p));
      if (key === NO_OPTIONS) continue;
      options[key] = value ? stringLiteral(value.getText()) : '';
    }
    return options;
  }

  query(n: Node): Query {
    const pos = posOf(n);
    if (kind(n) === 'QueryStatement') {
      const ks = kids(n);
      if (child(n, 'WithClause')) throw unsupported('WITH (common table expressions)', pos);
      if (child(n, 'OrderByClause'))
        throw unsupported('ORDER BY on a stream', posOf(child(n, 'OrderByClause')!));
      if (child(n, 'LimitClause'))
        throw unsupported('LIMIT on a stream', posOf(child(n, 'LimitClause')!));
      const setOp = ks.find((c) =>
        ['UNION', 'INTERSECT', 'EXCEPT', 'MINUS'].includes(tokenText(c)),
      );
      if (setOp) {
        const op = tokenText(setOp);
        if (op !== 'UNION' || !hasToken(n, 'ALL')) {
          throw unsupported(
            op === 'UNION' ? 'UNION without ALL (it needs state)' : op,
            posOf(setOp),
          );
        }
        const inputs = ks
          .filter((c) => kind(c) === 'QueryStatement')
          .flatMap((c) => {
            const q = this.query(c);
            return q.kind === 'union' ? q.inputs : [q];
          });
        return { kind: 'union', inputs, pos };
      }
      const inner = ks.find((c) => !isToken(c));
      if (ks.length === 3 && tokenText(ks[0]!) === '(' && inner) return this.query(inner);
      if (ks.length === 1 && inner) return this.query(inner);
      if (child(n, 'ValuesClause')) throw unsupported('VALUES', pos);
    }
    if (kind(n) === 'SelectStatement') return this.select(n);
    throw unsupported(`the query '${firstWords(this.source(n))}'`, pos);
  }

  select(n: Node): Select {
    const pos = posOf(n);
    for (const [name, what] of [
      ['HavingClause', 'HAVING'],
      ['WindowClause', 'WINDOW'],
      ['MatchRecognizeClause', 'MATCH_RECOGNIZE'],
    ] as const) {
      const c = child(n, name);
      if (c) throw unsupported(what, posOf(c));
    }
    const clause = child(n, 'SelectClause')!;
    if (child(clause, 'SetQuantifier'))
      throw unsupported('SELECT DISTINCT on a stream', posOf(clause));
    const items = kids(child(clause, 'SelectList')!)
      .filter((c) => kind(c) === 'ColumnProjectItem')
      .map((c) => this.selectItem(c));
    const fromClause = child(n, 'FromClause');
    if (!fromClause) throw unsupported('SELECT without FROM', pos);
    const from = this.from(child(fromClause, 'TableExpression')!);
    const where = child(n, 'WhereClause');
    const groupBy = child(n, 'GroupByClause');
    return {
      kind: 'select',
      items,
      from,
      where: where ? this.expr(kids(where)[1]!) : undefined,
      groupBy: groupBy
        ? kids(groupBy)
            .filter((c) => kind(c) === 'GroupItemDefinition')
            .map((g) => {
              const inner = kids(g);
              if (inner.length !== 1) throw unsupported('this GROUP BY item', posOf(g));
              const only = inner[0]!;
              if (kind(only) === 'GroupWindowFunction')
                throw unsupported(
                  'group window functions (use the TUMBLE/HOP table functions)',
                  posOf(g),
                );
              if (kind(only) === 'GroupingSets') throw unsupported('GROUPING SETS', posOf(g));
              return kind(only) === 'ColumnName'
                ? { k: 'col', name: lastPart(identifier(only)), pos: posOf(only) }
                : this.expr(only);
            })
        : [],
      pos,
    };
  }

  selectItem(n: Node): SelectItem {
    const pos = posOf(n);
    const ks = kids(n);
    const first = ks[0]!;
    if (kind(first) === 'TableAllColumns') return { kind: 'star', pos };
    if (kind(first) === 'OverWindowItem' || kind(first) === 'SelectWindowItemColumnName') {
      throw unsupported('OVER windows', pos);
    }
    let expr: Expr;
    let rest = ks.slice(1);
    if (kind(first) === 'SelectLiteralColumnName') {
      const name = child(first, 'ColumnName')!;
      const text = name.getText();
      // the grammar reads a string literal here as a quoted identifier: it is a string
      expr = text.startsWith("'")
        ? { k: 'lit', value: stringLiteral(text), type: parseDataType('STRING NOT NULL'), pos }
        : { k: 'col', name: lastPart(identifier(name)), pos };
      // The grammar reads `id + 1` or `ts - INTERVAL '1' HOUR` here as column `id` followed by a
      // unary `+ 1` (which would get `a - b + c` wrong): the item is parsed again in parentheses.
      const last = [...rest].reverse().find((c) => kind(c) !== 'ColumnAlias');
      if (last && first.start && last.stop) {
        const text = this.sql.slice(first.start.start, last.stop.stop + 1);
        const again = this.reparse(text);
        if (!again) throw sqlError(`cannot read the select item '${firstWords(text)}'`, pos);
        expr = relocate(this.expr(again), pos);
        rest = rest.filter((c) => kind(c) === 'ColumnAlias');
      }
    } else expr = this.expr(kids(first)[0]!);
    const extra = rest.find((c) => kind(c) !== 'ColumnAlias');
    if (extra)
      throw unsupported(`'${firstWords(this.source(extra))}' in this select item`, posOf(extra));
    const alias = rest.find((c) => kind(c) === 'ColumnAlias');
    const aliasName = alias
      ? kids(alias)
          .filter((c) => !isToken(c))
          .pop()
      : undefined;
    return {
      kind: 'expr',
      expr,
      ...(aliasName ? { alias: identifier(aliasName) } : {}),
      pos,
    };
  }

  from(n: Node): FromItem {
    const pos = posOf(n);
    const ks = kids(n);
    if (ks.length !== 1) {
      const join = ks.find((c) => /JOIN|,/.test(tokenText(c)));
      throw unsupported(
        join && tokenText(join) === ',' ? 'a comma join' : 'JOIN',
        join ? posOf(join) : pos,
      );
    }
    const only = ks[0]!;
    if (kind(only) === 'WindowTVFClause')
      return this.windowTvf(child(only, 'WindowTVFExpression')!);
    if (kind(only) === 'TableReference') {
      const primary = child(only, 'TablePrimary')!;
      const path = child(primary, 'TablePath');
      if (!path || kids(primary).length !== 1)
        throw unsupported(
          'this FROM item (subquery, UNNEST, table function or time travel)',
          posOf(primary),
        );
      return { kind: 'table', name: identifier(path), pos };
    }
    throw unsupported('this FROM item', pos);
  }

  windowTvf(n: Node): FromItem {
    const pos = posOf(n);
    const fn = child(n, 'WindowTVFName')!.getText().toUpperCase();
    if (fn !== 'TUMBLE' && fn !== 'HOP' && fn !== 'CUMULATE')
      throw unsupported(`the window function ${fn}`, pos);
    const params = kids(n).filter((c) => kind(c) === 'WindowTVFParam');
    const tableParam = params[0] ? child(params[0], 'TimeAttrColumn') : undefined;
    const descriptor = params[1] ? find(params[1], 'ColumnName') : undefined;
    if (!tableParam || !descriptor) {
      throw sqlError(`${fn} takes (TABLE t, DESCRIPTOR(time_column), INTERVAL ...)`, pos);
    }
    const intervals = params.slice(2).map((p) => {
      const interval = child(p, 'TimeIntervalExpression');
      if (!interval)
        throw sqlError(
          `${fn}: expected an INTERVAL (named parameters are not supported)`,
          posOf(p),
        );
      return intervalMs(interval);
    });
    const expected = fn === 'TUMBLE' ? 1 : 2;
    if (intervals.length !== expected) {
      throw sqlError(
        `${fn} takes ${expected === 1 ? 'one INTERVAL (size)' : fn === 'HOP' ? 'two INTERVALs (slide, size)' : 'two INTERVALs (step, size)'}; an offset is not supported`,
        pos,
      );
    }
    return {
      kind: 'window',
      fn,
      table: identifier(tableParam),
      timeColumn: lastPart(identifier(descriptor)),
      intervalsMs: intervals,
      pos,
    };
  }

  expr(n: Node): Expr {
    const pos = posOf(n);
    const ks = kids(n);
    const k = kind(n);
    if (isToken(n)) {
      const t = n.getText();
      if (t.toUpperCase() === 'NULL') return { k: 'lit', value: null, type: null, pos };
      if (/^\d/.test(t)) return numberLiteral(t, pos);
      if (t.startsWith("'"))
        return { k: 'lit', value: stringLiteral(t), type: parseDataType('STRING NOT NULL'), pos };
      throw unsupported(`'${t}'`, pos);
    }
    switch (k) {
      case 'Expression':
      case 'ValueExpressionDefault':
      case 'ConstantDefault':
      case 'FunctionCall':
      case 'ComputedColumnExpression':
      case 'FunctionParam':
        if (ks.length === 1) return this.expr(ks[0]!);
        break;
      case 'Predicated':
        if (ks.length === 1) return this.expr(ks[0]!);
        return this.predicate(this.expr(ks[0]!), ks[1]!);
      case 'Constant':
        if (ks.length === 1) return this.expr(ks[0]!);
        if (ks.length === 2 && tokenText(ks[0]!) === '-') {
          const inner = this.expr(ks[1]!);
          if (inner.k === 'lit' && typeof inner.value === 'number')
            return { ...inner, value: -inner.value, pos };
        }
        break;
      case 'DecimalLiteral':
        return numberLiteral(n.getText(), pos);
      case 'StringLiteral':
        return {
          k: 'lit',
          value: stringLiteral(this.source(n)),
          type: parseDataType('STRING NOT NULL'),
          pos,
        };
      case 'BooleanLiteral':
        return {
          k: 'lit',
          value: n.getText().toUpperCase() === 'TRUE',
          type: parseDataType('BOOLEAN NOT NULL'),
          pos,
        };
      case 'TimeIntervalExpression':
        return { k: 'interval', ms: intervalMs(n), pos };
      case 'TimeIntervalUnit':
        return { k: 'unit', unit: normalUnit(n.getText(), pos), pos };
      case 'ColumnReference':
        return { k: 'col', name: lastPart(identifier(n)), pos };
      case 'ParenthesizedExpression':
        return this.expr(ks[1]!);
      case 'LogicalNested':
        if (ks.length === 3) return this.expr(ks[1]!);
        break;
      case 'LogicalNot':
        return { k: 'not', e: this.expr(ks[1]!), pos };
      case 'LogicalBinary':
      case 'ArithmeticBinary':
        return {
          k: 'bin',
          op: tokenText(ks[1]!) || ks[1]!.getText().toUpperCase(),
          l: this.expr(ks[0]!),
          r: this.expr(ks[2]!),
          pos,
        };
      case 'Comparison': {
        const op = ks[1]!.getText();
        return {
          k: 'bin',
          op: op === '!=' ? '<>' : op,
          l: this.expr(ks[0]!),
          r: this.expr(ks[2]!),
          pos,
        };
      }
      case 'ArithmeticUnary': {
        const op = tokenText(ks[0]!);
        const e = this.expr(ks[1]!);
        if (op === '-') return { k: 'neg', e, pos };
        if (op === '+') return e;
        break;
      }
      case 'Cast': {
        if (tokenText(ks[0]!) !== 'CAST') throw unsupported(ks[0]!.getText(), pos);
        const typeNode = child(n, 'ColumnType')!;
        let type: DataType;
        try {
          type = parseDataType(this.source(typeNode));
        } catch (e) {
          throw sqlError(`CAST: ${(e as Error).message}`, posOf(typeNode));
        }
        return { k: 'cast', e: this.expr(ks[2]!), type, pos };
      }
      case 'SearchedCase':
      case 'SimpleCase': {
        const operand = k === 'SimpleCase' ? this.expr(ks[1]!) : undefined;
        const whens = ks
          .filter((c) => kind(c) === 'WhenClause')
          .map((w) => ({ when: this.expr(kids(w)[1]!), then: this.expr(kids(w)[3]!) }));
        const elseIndex = ks.findIndex((c) => tokenText(c) === 'ELSE');
        return {
          k: 'case',
          operand,
          whens,
          otherwise: elseIndex >= 0 ? this.expr(ks[elseIndex + 1]!) : undefined,
          pos,
        };
      }
      case 'Position': {
        const args = ks.filter((c) => !isToken(c)).map((c) => this.expr(c));
        return { k: 'call', name: 'POSITION', args, star: false, distinct: false, pos };
      }
      case 'FunctionCallExpression':
        return this.call(n);
      case 'SubqueryExpression':
      case 'Exists':
        throw unsupported('subqueries', pos);
      case 'Dereference':
      case 'Subscript':
        throw unsupported('field access and subscripts', pos);
      default:
        break;
    }
    throw unsupported(`the expression '${firstWords(this.source(n))}'`, pos);
  }

  call(n: Node): Expr {
    const pos = posOf(n);
    const ks = kids(n);
    const head = ks[0]!;
    if (kind(head) === 'ReservedKeywordsNoParamsUsedAsFuncName' || isToken(head)) {
      return {
        k: 'call',
        name: head.getText().toUpperCase(),
        args: [],
        star: false,
        distinct: false,
        pos,
      };
    }
    if (kind(head) === 'FunctionNameAndParams') {
      // TIMESTAMP '...', DATE '...', TIME '...'
      const [name, literal] = kids(head);
      const typeName = (name?.getText() ?? '').toUpperCase();
      const text = stringLiteral(literal?.getText() ?? '');
      return {
        k: 'cast',
        e: { k: 'lit', value: text, type: parseDataType('STRING NOT NULL'), pos },
        type: parseDataType(`${typeName === 'TIMESTAMP' ? 'TIMESTAMP(3)' : typeName} NOT NULL`),
        pos,
      };
    }
    if (kind(head) === 'FunctionNameWithParams') {
      const name = kids(head)[0]!.getText().toUpperCase().replace(/`/g, '');
      const hk = ks;
      const distinct = hk.some(
        (c) => kind(c) === 'SetQuantifier' && c.getText().toUpperCase() === 'DISTINCT',
      );
      const params = hk.filter((c) => kind(c) === 'FunctionParam');
      let star = false;
      const args: Expr[] = [];
      for (const p of params) {
        const inner = kids(p);
        if (
          inner.length === 0 ||
          (inner.length === 1 && isToken(inner[0]!) && inner[0]!.getText() === '')
        )
          continue;
        if (inner.length === 1 && kind(inner[0]!) === 'ReservedKeywordsUsedAsFuncParam') {
          if (inner[0]!.getText() === '*') star = true;
          else throw unsupported(`'${inner[0]!.getText()}' as an argument`, posOf(p));
          continue;
        }
        args.push(this.expr(p));
      }
      return { k: 'call', name, args, star, distinct, pos };
    }
    throw unsupported(`the function call '${firstWords(this.source(n))}'`, pos);
  }

  predicate(e: Expr, n: Node): Expr {
    const pos = posOf(n);
    const ks = kids(n);
    const words = ks.filter(isToken).map((c) => tokenText(c));
    const not = words.includes('NOT');
    const like = child(n, 'LikePredicate');
    if (like) {
      const lk = kids(like);
      const lwords = lk.filter(isToken).map((c) => tokenText(c));
      if (lwords.includes('ESCAPE')) throw unsupported('LIKE ... ESCAPE', pos);
      const pattern = lk.find((c) => !isToken(c));
      if (!pattern || (!lwords.includes('LIKE') && !lwords.includes('SIMILAR')))
        throw unsupported(`'${this.source(like)}'`, pos);
      return {
        k: 'like',
        e,
        pattern: this.expr(pattern),
        not: lwords.includes('NOT'),
        similar: false,
        pos,
      };
    }
    if (words[0] === 'IS') {
      const what = words[words.length - 1];
      if (what === 'NULL' || what === 'TRUE' || what === 'FALSE')
        return { k: 'is', e, what, not, pos };
      throw unsupported(`IS ${words.slice(1).join(' ')}`, pos);
    }
    if (words.includes('IN')) {
      if (child(n, 'QueryStatement')) throw unsupported('IN (subquery)', pos);
      return { k: 'in', e, list: ks.filter((c) => !isToken(c)).map((c) => this.expr(c)), not, pos };
    }
    if (words.includes('BETWEEN')) {
      if (words.includes('SYMMETRIC')) throw unsupported('BETWEEN SYMMETRIC', pos);
      const [lo, hi] = ks.filter((c) => !isToken(c));
      return { k: 'between', e, lo: this.expr(lo!), hi: this.expr(hi!), not, pos };
    }
    if (words.includes('SIMILAR')) {
      const pattern = ks.find((c) => !isToken(c))!;
      return { k: 'like', e, pattern: this.expr(pattern), not, similar: true, pos };
    }
    throw unsupported(`the predicate '${firstWords(this.source(n))}'`, pos);
  }
}

/** An expression parsed from a re-read item: every position becomes the item's. */
function relocate(e: Expr, pos: Pos): Expr {
  return JSON.parse(JSON.stringify(e), (key, value: unknown) =>
    key === 'pos' ? pos : value,
  ) as Expr;
}

function firstWords(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

function lastPart(name: string): string {
  const parts = name.split('.');
  return parts[parts.length - 1]!;
}

function numberLiteral(text: string, pos: Pos): Expr {
  const value = Number(text);
  const integer = /^\d+$/.test(text);
  const type = integer
    ? Math.abs(value) <= 2147483647
      ? 'INT NOT NULL'
      : 'BIGINT NOT NULL'
    : 'DOUBLE NOT NULL';
  if (integer && !Number.isSafeInteger(value)) {
    throw sqlError(`the number ${text} is beyond 2^53 and cannot be represented exactly`, pos);
  }
  return { k: 'lit', value, type: parseDataType(type), pos };
}

const UNIT_MS: Record<string, number> = {
  MILLISECOND: 1,
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
  WEEK: 7 * 86_400_000,
};

function normalUnit(text: string, pos: Pos): string {
  const u = text.toUpperCase().replace(/S$/, '');
  const known = [
    'MILLISECOND',
    'SECOND',
    'MINUTE',
    'HOUR',
    'DAY',
    'WEEK',
    'MONTH',
    'QUARTER',
    'YEAR',
  ];
  if (!known.includes(u)) throw sqlError(`unknown time unit '${text}'`, pos);
  return u;
}

/** `INTERVAL '5' SECOND` → 5000. Month/year intervals have no fixed length: refused. */
function intervalMs(n: Node): number {
  const pos = posOf(n);
  const multi = find(n, 'MultiUnitsInterval');
  if (!multi) throw unsupported("this INTERVAL form (use INTERVAL 'n' UNIT)", pos);
  const values = kids(multi).filter((c) => kind(c) === 'IntervalValue');
  const units = kids(multi).filter((c) => kind(c) === 'TimeIntervalUnit');
  let total = 0;
  values.forEach((v, i) => {
    const amount = Number(stringLiteral(v.getText()));
    const unit = normalUnit(units[i]?.getText() ?? '', posOf(v));
    const ms = UNIT_MS[unit];
    if (!Number.isFinite(amount))
      throw sqlError(`INTERVAL value '${v.getText()}' is not a number`, posOf(v));
    if (ms === undefined)
      throw unsupported(`INTERVAL in ${unit}S (no fixed length; use DAY or smaller)`, posOf(v));
    total += amount * ms;
  });
  return total;
}

/**
 * Parses one or several `;`-separated statements. A syntax error names the offending text and its
 * position; a construct outside the subset names the construct.
 */
/**
 * Flink's grammar makes a `CREATE TABLE`'s `WITH (...)` optional (a catalog table such as the
 * Pravega catalog's takes its options from the catalog); dt-sql-parser's grammar requires it. A
 * `CREATE TABLE` that ends where `WITH` may come is read as if it had this one placeholder option,
 * which `withOptions` drops.
 */
const NO_OPTIONS = '__tributary.no-options';

/** Where a statement that ended too early was a CREATE TABLE lacking only its WITH: the offset. */
function missingWithAt(sql: string, line: number, column: number): number | undefined {
  const lines = sql.split('\n');
  let offset = column;
  for (let i = 0; i < line - 1; i++) offset += (lines[i]?.length ?? 0) + 1;
  const before = sql.slice(0, offset);
  const statementStart = before.lastIndexOf(';') + 1;
  const rest = sql.slice(offset);
  const restOfStatement = rest.slice(0, rest.indexOf(';') < 0 ? rest.length : rest.indexOf(';'));
  if (
    /^\s*(?:--[^\n]*\n\s*)*CREATE\s+(?:TEMPORARY\s+)?TABLE\b/i.test(before.slice(statementStart)) &&
    restOfStatement.trim() === '' &&
    /\)\s*(?:COMMENT\s+'(?:[^']|'')*'\s*)?$/i.test(before)
  ) {
    return before.replace(/\s+$/, '').length;
  }
  return undefined;
}

export async function parseSql(text: string): Promise<Statement[]> {
  let sql = text;
  for (let attempt = 0; ; attempt++) {
    try {
      return await parseSqlOnce(sql);
    } catch (err) {
      const at = (err as { sqlPosition?: { line: number; column: number } }).sqlPosition;
      const offset = at && attempt < 100 ? missingWithAt(sql, at.line, at.column) : undefined;
      if (offset === undefined) throw err;
      sql = `${sql.slice(0, offset)} WITH ('${NO_OPTIONS}' = '')${sql.slice(offset)}`;
    }
  }
}

async function parseSqlOnce(sql: string): Promise<Statement[]> {
  const { FlinkSQL } = await loadSqlParser();
  const parser = new FlinkSQL();
  const errors: { message: string; line: number; column: number }[] = [];
  const tree = parser.parse(sql, (e, original) => {
    const token = original.offendingSymbol?.text;
    // the grammar's semantic predicates say only "failed predicate: ?": say which word it was
    const message =
      /failed predicate/.test(e.message) && token !== undefined
        ? `'${token}' cannot be read here (the Flink grammar takes it for a keyword; a function such as SQRT or CHAR_LENGTH can be back-quoted: \`SQRT\`(x))`
        : e.message;
    errors.push({ message, line: e.startLine, column: e.startColumn - 1 });
  }) as unknown as Node;
  const first = errors[0];
  if (first) {
    throw Object.assign(
      sqlError(`syntax error: ${first.message}`, { line: first.line, column: first.column }),
      { sqlPosition: { line: first.line, column: first.column } },
    );
  }
  const walker = new Walker(sql, (text) => {
    const again = parser.parse(`SELECT (${text}) FROM x`) as unknown as Node;
    const item = find(again, 'SelectExpressionColumnName');
    return item ? kids(item)[0] : undefined;
  });
  const statements: Statement[] = [];
  for (const single of kids(tree).filter((c) => kind(c) === 'SingleStatement')) {
    const inner = kids(single).find((c) => !isToken(c));
    if (!inner || kind(inner) === 'EmptyStatement') continue;
    const sqlStatement = kind(inner) === 'SqlStatement' ? kids(inner)[0] : inner;
    if (!sqlStatement || kind(sqlStatement) === 'EmptyStatement') continue;
    statements.push(walker.statement(sqlStatement));
  }
  return statements;
}

/** For computed columns and watermarks: one expression's text → its AST. */
export async function parseExpression(text: string, what: string): Promise<Expr> {
  const statements = await parseSql(`INSERT INTO x SELECT ${text} AS v FROM x`).catch(
    (e: unknown) => {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `SQL: ${what}: ${(e as Error).message.replace(/^SQL: /, '')}`,
      );
    },
  );
  const s = statements[0];
  if (s?.kind !== 'insert' || s.query.kind !== 'select' || s.query.items[0]?.expr === undefined) {
    throw new TributaryError('ILLEGAL_ARGUMENT', `SQL: ${what}: '${text}' is not an expression`);
  }
  return s.query.items[0].expr;
}
