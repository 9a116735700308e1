/**
 * Compiles an `INSERT INTO t SELECT ...` to the DataStream API: the source through its table
 * factory (computed columns and the watermark run inside it as hooks), `filter`/`map` for WHERE
 * and the projection, `keyBy → window → aggregate(agg, windowFn)` for window aggregations,
 * `union` for UNION ALL, the sink through its factory. Operator names and uids derive from the
 * statement's text, so the same SQL resumes its own state after a restart.
 */
import { createHash } from 'node:crypto';
import type { DataStream } from '../../runtime/data-stream.js';
import type { AggregateFunction, TimeWindow } from '../../runtime/functions.js';
import type { StreamEnvironment } from '../../runtime/stream-environment.js';
import {
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  type WindowAssigner,
} from '../../runtime/windows.js';
import { findTableFactory } from '../factories.js';
import type { ChangeRow, DataType, ResolvedTable, Row, TableSourceHooks } from '../types.js';
import type { Expr, FromItem, Query, Select, Statement } from '../sql/ast.js';
import { ExpressionCompiler, familyOf, type Compiled, type Evaluator } from '../sql/expressions.js';
import { parseExpression, sqlError } from '../sql/parse.js';

export interface PlanColumn {
  readonly name: string;
  readonly type: DataType | null;
}

interface Planned {
  readonly stream: DataStream<Row> | DataStream<ChangeRow>;
  readonly changelog: boolean;
  readonly columns: readonly PlanColumn[];
  /** the column carrying event time (record timestamps), if still in the output */
  readonly rowtime: string | undefined;
}

/** What the planner needs from the TableEnvironment: tables and views by name. */
export interface PlannerCatalog {
  resolve(
    name: string,
  ): Promise<
    | { readonly kind: 'table'; readonly table: ResolvedTable }
    | { readonly kind: 'view'; readonly name: string; readonly query: Query }
  >;
}

const ROWTIME: DataType = { root: 'TIMESTAMP', nullable: false, precision: 3, rowtime: true };

export class Planner {
  private readonly prefix: string;
  private counter = 0;
  /** a table read twice (UNION ALL of the same table) gets a second source named `t#2` */
  private readonly sourceUses = new Map<string, number>();

  constructor(
    private readonly env: StreamEnvironment,
    private readonly catalog: PlannerCatalog,
    statementText: string,
    /** `table.exec.source.idle-timeout` */
    private readonly idleTimeoutMs?: number,
  ) {
    this.prefix = `sql-${createHash('sha256').update(statementText).digest('hex').slice(0, 10)}`;
  }

  private op(what: string): { name: string; uid: string } {
    const n = this.counter++;
    return {
      name: `${what}`,
      uid: `${this.prefix}-${n}-${what.split(':')[0]!.trim().replace(/\s+/g, '-')}`,
    };
  }

  /** Adds the pipeline of one INSERT (or each INSERT of a statement set) to the environment. */
  async planInsert(stmt: Extract<Statement, { kind: 'insert' }>): Promise<void> {
    const target = await this.catalog.resolve(stmt.table);
    if (target.kind !== 'table')
      throw sqlError(`cannot INSERT INTO the view '${stmt.table}'`, stmt.pos);
    const table = target.table;
    const factory = findTableFactory(requireConnector(table), table.name);
    factory.validate(table, 'sink');
    const planned = await this.planQuery(stmt.query);
    const sinkColumns = table.schema.columns.flatMap((c) =>
      c.kind === 'physical' || (c.kind === 'metadata' && !c.virtual)
        ? [{ name: c.name, type: c.type }]
        : [],
    );
    if (sinkColumns.length !== planned.columns.length) {
      throw sqlError(
        `INSERT INTO ${table.name}: the query gives ${planned.columns.length} column(s) (${planned.columns.map((c) => c.name).join(', ')}), the table has ${sinkColumns.length} (${sinkColumns.map((c) => c.name).join(', ')})`,
        stmt.query.pos,
      );
    }
    sinkColumns.forEach((c, i) => {
      const q = planned.columns[i]!;
      const fq = familyOf(q.type);
      const fc = familyOf(c.type);
      if (fq !== 'null' && fq !== fc) {
        throw sqlError(
          `INSERT INTO ${table.name}: column ${i + 1} '${q.name}' is ${q.type?.root}, the table's '${c.name}' is ${c.type.root} (CAST it)`,
          stmt.query.pos,
        );
      }
    });
    const rename = (row: Row): Row => {
      const out: Row = {};
      for (let i = 0; i < sinkColumns.length; i++)
        out[sinkColumns[i]!.name] = row[planned.columns[i]!.name] ?? null;
      return out;
    };
    const opts = this.op(`Sink: ${table.name}`);
    const renamed = planned.changelog
      ? (planned.stream as DataStream<ChangeRow>).map(
          (c) => ({ kind: c.kind, row: rename(c.row) }),
          opts,
        )
      : (planned.stream as DataStream<Row>).map(rename, {
          ...opts,
          name: `Calc: to ${table.name}`,
        });
    await factory.createSink(renamed, table, planned.changelog);
  }

  async planQuery(q: Query): Promise<Planned> {
    if (q.kind === 'union') {
      const inputs = await Promise.all(q.inputs.map((i) => this.planQuery(i)));
      const first = inputs[0]!;
      for (const other of inputs.slice(1)) {
        if (other.columns.length !== first.columns.length) {
          throw sqlError(
            `UNION ALL: inputs have ${first.columns.length} and ${other.columns.length} columns`,
            q.pos,
          );
        }
        other.columns.forEach((c, i) => {
          const a = familyOf(first.columns[i]!.type);
          const b = familyOf(c.type);
          if (a !== 'null' && b !== 'null' && a !== b) {
            throw sqlError(
              `UNION ALL: column ${i + 1} is ${first.columns[i]!.type?.root} in one input and ${c.type?.root} in another`,
              q.pos,
            );
          }
        });
      }
      const changelog = inputs.some((i) => i.changelog);
      const aligned = inputs.map((input, n) => {
        const names = input.columns.map((c) => c.name);
        const target = first.columns.map((c) => c.name);
        const same = names.every((name, i) => name === target[i]);
        const toRow = (row: Row): Row => {
          if (same) return row;
          const out: Row = {};
          names.forEach((name, i) => (out[target[i]!] = row[name] ?? null));
          return out;
        };
        const opts = this.op(`Calc: union input ${n}`);
        if (input.changelog)
          return (input.stream as DataStream<ChangeRow>).map(
            (c) => ({ kind: c.kind, row: toRow(c.row) }),
            opts,
          );
        if (changelog)
          return (input.stream as DataStream<Row>).map(
            (row): ChangeRow => ({ kind: '+I', row: toRow(row) }),
            opts,
          );
        return same ? input.stream : (input.stream as DataStream<Row>).map(toRow, opts);
      }) as DataStream<Row>[];
      const stream = aligned[0]!.union(...aligned.slice(1));
      return {
        stream,
        changelog,
        columns: first.columns,
        rowtime: inputs.every((i) => i.rowtime === first.rowtime) ? first.rowtime : undefined,
      };
    }
    return this.planSelect(q);
  }

  private async planFrom(from: FromItem): Promise<Planned> {
    const name = from.kind === 'table' ? from.name : from.table;
    const resolved = await this.catalog.resolve(name);
    if (resolved.kind === 'view') return this.planQuery(resolved.query);
    return this.planSource(resolved.table);
  }

  private async planSource(table: ResolvedTable): Promise<Planned> {
    const factory = findTableFactory(requireConnector(table), table.name);
    factory.validate(table, 'source');
    const scope = new Map<string, DataType>();
    for (const c of table.schema.columns) if (c.kind !== 'computed') scope.set(c.name, c.type);
    const computed: { name: string; eval: Evaluator }[] = [];
    for (const c of table.schema.columns) {
      if (c.kind !== 'computed') continue;
      const compiled = new ExpressionCompiler(scope).compile(
        await parseExpression(c.expression, `${table.name}: computed column '${c.name}'`),
      );
      scope.set(c.name, compiled.type ?? { root: 'STRING', nullable: true });
      computed.push({ name: c.name, eval: compiled.eval });
    }
    const columns = table.schema.columns.map((c) => ({ name: c.name, type: scope.get(c.name)! }));
    let rowtime: string | undefined;
    const hooks: { -readonly [K in keyof TableSourceHooks]: TableSourceHooks[K] } = {
      name: this.sourceName(table.name),
    };
    if (computed.length > 0) {
      hooks.project = (row) => {
        for (const c of computed) row[c.name] = c.eval(row);
        return row;
      };
    }
    const wm = table.schema.watermark;
    if (wm !== undefined) {
      const type = scope.get(wm.column);
      if (type === undefined)
        throw sqlError(`${table.name}: WATERMARK FOR ${wm.column}: no such column`, undefined);
      if (type.root !== 'TIMESTAMP' && type.root !== 'TIMESTAMP_LTZ') {
        throw sqlError(
          `${table.name}: WATERMARK FOR ${wm.column}: the column must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), it is ${type.root}`,
          undefined,
        );
      }
      const delay = watermarkDelay(
        await parseExpression(wm.expression, `${table.name}: WATERMARK FOR ${wm.column}`),
        wm.column,
      );
      const column = wm.column;
      hooks.eventTime = {
        timestamp: (row) => {
          const t = row[column];
          if (typeof t !== 'number') {
            throw sqlError(
              `${table.name}: the event-time column '${column}' is NULL in a row; filter it out or give it a value`,
              undefined,
            );
          }
          return t;
        },
        maxOutOfOrdernessMs: delay,
        ...(this.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.idleTimeoutMs }),
      };
      rowtime = column;
      const i = columns.findIndex((c) => c.name === column);
      columns[i] = { name: column, type: { ...ROWTIME, root: type.root } };
    }
    const result = await factory.createSource(this.env, table, hooks);
    const visible = columns.filter((c) => {
      const col = table.schema.columns.find((x) => x.name === c.name);
      return col !== undefined;
    });
    return result.changelogMode === 'all'
      ? { stream: result.stream, changelog: true, columns: visible, rowtime }
      : { stream: result.stream, changelog: false, columns: visible, rowtime };
  }

  private sourceName(table: string): string {
    const n = (this.sourceUses.get(table) ?? 0) + 1;
    this.sourceUses.set(table, n);
    return n === 1 ? table : `${table}#${n}`;
  }

  private async planSelect(s: Select): Promise<Planned> {
    const input = await this.planFrom(s.from);
    const scope = new Map<string, DataType>();
    for (const c of input.columns) scope.set(c.name, c.type ?? { root: 'STRING', nullable: true });
    if (s.from.kind === 'window') return this.planWindow(s, s.from, input, scope);
    if (s.groupBy.length > 0) {
      throw sqlError(
        'GROUP BY without a window table function (TUMBLE/HOP/CUMULATE) is not supported on a stream',
        s.groupBy[0]!.pos,
      );
    }
    const compiler = new ExpressionCompiler(scope);
    let stream = input.stream;
    if (s.where !== undefined) {
      const cond = compiler.compile(s.where);
      if (familyOf(cond.type) !== 'boolean' && cond.type !== null)
        throw sqlError(`WHERE needs a BOOLEAN condition, got ${cond.type.root}`, s.where.pos);
      const test = cond.eval;
      const opts = this.op(`Calc: where ${exprText(s.where)}`);
      stream = input.changelog
        ? (stream as DataStream<ChangeRow>).filter((c) => test(c.row) === true, opts)
        : (stream as DataStream<Row>).filter((row) => test(row) === true, opts);
    }
    const outputs = this.projection(s, input.columns, compiler);
    const identity =
      outputs.length === input.columns.length &&
      outputs.every((o, i) => o.source === input.columns[i]!.name && o.name === o.source);
    const rowtimeOut = outputs.find((o) => o.source !== undefined && o.source === input.rowtime);
    const columns = outputs.map((o) => ({
      name: o.name,
      type:
        o.source !== undefined && o.source === input.rowtime
          ? scope.get(o.source)!
          : o.compiled.type,
    }));
    if (identity) return { stream, changelog: input.changelog, columns, rowtime: input.rowtime };
    const project = (row: Row): Row => {
      const out: Row = {};
      for (const o of outputs) out[o.name] = o.compiled.eval(row);
      return out;
    };
    const opts = this.op(`Calc: select ${outputs.map((o) => o.name).join(', ')}`);
    const projected = input.changelog
      ? (stream as DataStream<ChangeRow>).map((c) => ({ kind: c.kind, row: project(c.row) }), opts)
      : (stream as DataStream<Row>).map(project, opts);
    return { stream: projected, changelog: input.changelog, columns, rowtime: rowtimeOut?.name };
  }

  private projection(
    s: Select,
    columns: readonly PlanColumn[],
    compiler: ExpressionCompiler,
  ): { name: string; compiled: Compiled; source: string | undefined }[] {
    const out: { name: string; compiled: Compiled; source: string | undefined }[] = [];
    const names = new Set<string>();
    s.items.forEach((item, i) => {
      const add = (name: string, compiled: Compiled, source: string | undefined): void => {
        if (names.has(name))
          throw sqlError(
            `the output column '${name}' appears twice; give one an alias (AS)`,
            item.pos,
          );
        names.add(name);
        out.push({ name, compiled, source });
      };
      if (item.kind === 'star') {
        for (const c of columns)
          add(c.name, compiler.compile({ k: 'col', name: c.name, pos: item.pos }), c.name);
        return;
      }
      const e = item.expr!;
      const name = item.alias ?? (e.k === 'col' ? e.name : `EXPR$${i}`);
      add(name, compiler.compile(e), e.k === 'col' ? e.name : undefined);
    });
    return out;
  }

  private planWindow(
    s: Select,
    from: Extract<FromItem, { kind: 'window' }>,
    input: Planned,
    scope: Map<string, DataType>,
  ): Planned {
    if (input.changelog) {
      throw sqlError(
        `${from.fn} over '${from.table}': the input is a changelog (updates/deletes); windows need an insert-only input`,
        from.pos,
      );
    }
    if (input.rowtime === undefined || input.rowtime !== from.timeColumn) {
      throw sqlError(
        `${from.fn}: DESCRIPTOR(${from.timeColumn}) must be the event-time column of '${from.table}' (declare WATERMARK FOR ${from.timeColumn} AS ...)${input.rowtime ? `; it is '${input.rowtime}'` : ''}`,
        from.pos,
      );
    }
    const [a, b] = from.intervalsMs;
    const assigner: WindowAssigner =
      from.fn === 'TUMBLE'
        ? TumblingEventTimeWindows.of(a!)
        : from.fn === 'HOP'
          ? SlidingEventTimeWindows.of(b!, a!)
          : cumulatingWindows(a!, b!, from.pos);
    const windowScope = new Map(scope);
    windowScope.set('window_start', { root: 'TIMESTAMP', nullable: false, precision: 3 });
    windowScope.set('window_end', { root: 'TIMESTAMP', nullable: false, precision: 3 });
    windowScope.set('window_time', ROWTIME);
    const compiler = new ExpressionCompiler(windowScope);
    let stream = input.stream as DataStream<Row>;
    if (s.where !== undefined) {
      const test = compiler.compile(s.where).eval;
      stream = stream.filter(
        (row) => test(row) === true,
        this.op(`Calc: where ${exprText(s.where)}`),
      );
    }
    // group keys: window_start and window_end are required; the rest are input columns
    const groupNames = s.groupBy.map((g) => {
      if (g.k !== 'col') throw sqlError('GROUP BY items must be columns', g.pos);
      if (!windowScope.has(g.name)) throw sqlError(`GROUP BY: column '${g.name}' not found`, g.pos);
      return g.name;
    });
    if (!groupNames.includes('window_start') || !groupNames.includes('window_end')) {
      throw sqlError(
        `a ${from.fn} aggregation must GROUP BY window_start, window_end (plus any keys)`,
        s.pos,
      );
    }
    const keys = groupNames.filter(
      (n) => n !== 'window_start' && n !== 'window_end' && n !== 'window_time',
    );
    // aggregates are replaced by placeholder columns; the rest must be group keys or window bounds
    const aggs: AggSpec[] = [];
    const outScope = new Map<string, DataType>();
    for (const k of keys) outScope.set(k, windowScope.get(k)!);
    for (const w of ['window_start', 'window_end', 'window_time'])
      outScope.set(w, windowScope.get(w)!);
    const rewrite = (e: Expr): Expr => {
      if (e.k === 'call' && AGGREGATES.has(e.name)) {
        const spec = aggSpec(e, compiler, aggs.length);
        aggs.push(spec);
        outScope.set(spec.column, spec.type);
        return { k: 'col', name: spec.column, pos: e.pos };
      }
      if (e.k === 'col' && !outScope.has(e.name)) {
        throw sqlError(
          `column '${e.name}' must be in GROUP BY or inside an aggregate function`,
          e.pos,
        );
      }
      return mapChildren(e, rewrite);
    };
    const items = s.items.map((item, i) => {
      if (item.kind === 'star') throw sqlError('SELECT * is not valid with GROUP BY', item.pos);
      const e = rewrite(item.expr!);
      const name = item.alias ?? (item.expr!.k === 'col' ? item.expr.name : `EXPR$${i}`);
      return {
        name,
        e,
        source: item.expr!.k === 'col' ? item.expr.name : undefined,
        pos: item.pos,
      };
    });
    const outCompiler = new ExpressionCompiler(outScope);
    const outputs = items.map((it) => ({
      name: it.name,
      compiled: outCompiler.compile(it.e),
      source: it.source,
    }));
    const seen = new Set<string>();
    for (const [i, o] of outputs.entries()) {
      if (seen.has(o.name))
        throw sqlError(
          `the output column '${o.name}' appears twice; give one an alias (AS)`,
          items[i]!.pos,
        );
      seen.add(o.name);
    }
    const keyOf = (row: Row): string => JSON.stringify(keys.map((k) => row[k] ?? null));
    const agg: AggregateFunction<Row, unknown[], unknown[]> = {
      createAccumulator: () => aggs.map((a) => a.init()),
      add: (row, acc) => {
        for (let i = 0; i < aggs.length; i++) acc[i] = aggs[i]!.add(acc[i], aggs[i]!.arg?.(row));
        return acc;
      },
      getResult: (acc) => acc.map((v, i) => aggs[i]!.result(v)),
    };
    const windowFn = (
      key: string,
      window: TimeWindow,
      results: unknown[],
      out: { collect(v: Row): void },
    ): void => {
      const values = JSON.parse(key) as unknown[];
      const row: Row = {
        window_start: window.start,
        window_end: window.end,
        window_time: window.end - 1,
      };
      keys.forEach((k, i) => (row[k] = values[i]));
      aggs.forEach((a, i) => (row[a.column] = results[i]));
      const o: Row = {};
      for (const x of outputs) o[x.name] = x.compiled.eval(row);
      out.collect(o);
    };
    const sizes = from.intervalsMs.map(formatMs).join(', ');
    const aggregated = stream
      .keyBy(keyOf)
      .window(assigner)
      .aggregate(
        agg,
        windowFn,
        this.op(
          `Window: ${from.fn}(${from.timeColumn}, ${sizes}) group by [${keys.join(', ')}] select ${aggs.map((a) => a.label).join(', ')}`,
        ),
      );
    const columns = outputs.map((o) => ({
      name: o.name,
      type: o.source === 'window_time' ? ROWTIME : o.compiled.type,
    }));
    const rowtimeOut = outputs.find((o) => o.source === 'window_time');
    return { stream: aggregated, changelog: false, columns, rowtime: rowtimeOut?.name };
  }
}

const AGGREGATES = new Set(['COUNT', 'SUM', 'MIN', 'MAX', 'AVG']);

interface AggSpec {
  readonly column: string;
  readonly label: string;
  readonly type: DataType;
  readonly arg: Evaluator | undefined;
  init(): unknown;
  add(acc: unknown, value: unknown): unknown;
  result(acc: unknown): unknown;
}

function aggSpec(
  e: Extract<Expr, { k: 'call' }>,
  compiler: ExpressionCompiler,
  index: number,
): AggSpec {
  const column = `$agg${index}`;
  const label = e.star
    ? `${e.name}(*)`
    : `${e.name}(${e.distinct ? 'DISTINCT ' : ''}${e.args.map(exprText).join(', ')})`;
  if (e.star) {
    if (e.name !== 'COUNT') throw sqlError(`${e.name}(*) is not valid (only COUNT(*))`, e.pos);
    return {
      column,
      label,
      type: { root: 'BIGINT', nullable: false },
      arg: undefined,
      init: () => 0,
      add: (acc) => (acc as number) + 1,
      result: (acc) => acc,
    };
  }
  if (e.args.length !== 1) throw sqlError(`${e.name} takes one argument`, e.pos);
  const arg = compiler.compile(e.args[0]!);
  if (arg.type !== null && e.args.some((x) => x.k === 'call' && AGGREGATES.has(x.name))) {
    throw sqlError(`aggregate functions cannot be nested`, e.pos);
  }
  const family = familyOf(arg.type);
  if ((e.name === 'SUM' || e.name === 'AVG') && family !== 'numeric' && family !== 'null') {
    throw sqlError(`${e.name} needs a numeric argument, got ${arg.type?.root}`, e.pos);
  }
  const argType = arg.type ?? { root: 'BIGINT', nullable: true };
  if (e.distinct) {
    if (e.name !== 'COUNT')
      throw sqlError(`${e.name}(DISTINCT ...) is not supported (only COUNT(DISTINCT ...))`, e.pos);
    return {
      column,
      label,
      type: { root: 'BIGINT', nullable: false },
      arg: arg.eval,
      init: () => ({}),
      add: (acc, v) => {
        if (v !== null && v !== undefined) (acc as Record<string, true>)[JSON.stringify(v)] = true;
        return acc;
      },
      result: (acc) => Object.keys(acc as object).length,
    };
  }
  switch (e.name) {
    case 'COUNT':
      return {
        column,
        label,
        type: { root: 'BIGINT', nullable: false },
        arg: arg.eval,
        init: () => 0,
        add: (acc, v) => (v === null || v === undefined ? acc : (acc as number) + 1),
        result: (acc) => acc,
      };
    case 'SUM':
      return {
        column,
        label,
        type: { ...argType, nullable: true },
        arg: arg.eval,
        init: () => null,
        add: (acc, v) =>
          v === null || v === undefined ? acc : ((acc as number | null) ?? 0) + (v as number),
        result: (acc) => acc,
      };
    case 'AVG': {
      const integral = ['TINYINT', 'SMALLINT', 'INT', 'BIGINT'].includes(argType.root);
      return {
        column,
        label,
        type: { ...argType, nullable: true },
        arg: arg.eval,
        init: () => [0, 0],
        add: (acc, v) => {
          const [sum, n] = acc as [number, number];
          return v === null || v === undefined ? acc : [sum + (v as number), n + 1];
        },
        result: (acc) => {
          const [sum, n] = acc as [number, number];
          if (n === 0) return null;
          return integral ? Math.trunc(sum / n) : sum / n;
        },
      };
    }
    default: {
      const better =
        e.name === 'MIN'
          ? (a: unknown, b: unknown) => (b as number) < (a as number)
          : (a: unknown, b: unknown) => (b as number) > (a as number);
      return {
        column,
        label,
        type: { ...argType, nullable: true },
        arg: arg.eval,
        init: () => null,
        add: (acc, v) =>
          v === null || v === undefined ? acc : acc === null || better(acc, v) ? v : acc,
        result: (acc) => acc,
      };
    }
  }
}

function mapChildren(e: Expr, f: (e: Expr) => Expr): Expr {
  switch (e.k) {
    case 'bin':
      return { ...e, l: f(e.l), r: f(e.r) };
    case 'not':
    case 'neg':
    case 'is':
    case 'cast':
      return { ...e, e: f(e.e) };
    case 'in':
      return { ...e, e: f(e.e), list: e.list.map(f) };
    case 'between':
      return { ...e, e: f(e.e), lo: f(e.lo), hi: f(e.hi) };
    case 'like':
      return { ...e, e: f(e.e), pattern: f(e.pattern) };
    case 'case':
      return {
        ...e,
        operand: e.operand ? f(e.operand) : undefined,
        whens: e.whens.map((w) => ({ when: f(w.when), then: f(w.then) })),
        otherwise: e.otherwise ? f(e.otherwise) : undefined,
      };
    case 'call':
      return { ...e, args: e.args.map(f) };
    default:
      return e;
  }
}

/** Windows of CUMULATE(step, size): [start, start + step·k) for k = 1 … size/step. */
function cumulatingWindows(stepMs: number, sizeMs: number, pos: Select['pos']): WindowAssigner {
  if (stepMs <= 0 || sizeMs % stepMs !== 0)
    throw sqlError('CUMULATE: the size must be a multiple of the step', pos);
  TumblingEventTimeWindows.of(sizeMs);
  return {
    sizeMs,
    assignWindows(timestamp) {
      const start = timestamp - (((timestamp % sizeMs) + sizeMs) % sizeMs);
      const windows: TimeWindow[] = [];
      for (let end = start + stepMs; end <= start + sizeMs; end += stepMs)
        if (end > timestamp) windows.push({ start, end });
      return windows;
    },
  };
}

/** `ts - INTERVAL '5' SECOND` → 5000; `ts` → 0. Other watermark expressions are refused. */
function watermarkDelay(e: Expr, column: string): number {
  if (e.k === 'col' && e.name === column) return 0;
  if (
    e.k === 'bin' &&
    e.op === '-' &&
    e.l.k === 'col' &&
    e.l.name === column &&
    e.r.k === 'interval'
  )
    return e.r.ms;
  throw sqlError(
    `WATERMARK FOR ${column}: only '${column}' or '${column} - INTERVAL ...' is supported`,
    e.pos,
  );
}

function requireConnector(table: ResolvedTable): string {
  const c = table.options['connector'];
  if (c === undefined) {
    throw sqlError(
      `table '${table.name}' has no 'connector' option; add WITH ('connector' = '...')`,
      undefined,
    );
  }
  return c;
}

function formatMs(ms: number): string {
  for (const [unit, n] of [
    ['DAY', 86_400_000],
    ['HOUR', 3_600_000],
    ['MINUTE', 60_000],
    ['SECOND', 1000],
  ] as const) {
    if (ms % n === 0) return `INTERVAL '${ms / n}' ${unit}`;
  }
  return `INTERVAL '${ms}' MILLISECOND`;
}

/** A short readable form of an expression (operator names in EXPLAIN). */
export function exprText(e: Expr): string {
  switch (e.k) {
    case 'col':
      return e.name;
    case 'lit':
      return typeof e.value === 'string' ? `'${e.value}'` : String(e.value);
    case 'interval':
      return formatMs(e.ms);
    case 'unit':
      return e.unit;
    case 'bin':
      return `(${exprText(e.l)} ${e.op} ${exprText(e.r)})`;
    case 'not':
      return `NOT ${exprText(e.e)}`;
    case 'neg':
      return `-${exprText(e.e)}`;
    case 'is':
      return `${exprText(e.e)} IS ${e.not ? 'NOT ' : ''}${e.what}`;
    case 'in':
      return `${exprText(e.e)} ${e.not ? 'NOT ' : ''}IN (${e.list.map(exprText).join(', ')})`;
    case 'between':
      return `${exprText(e.e)} ${e.not ? 'NOT ' : ''}BETWEEN ${exprText(e.lo)} AND ${exprText(e.hi)}`;
    case 'like':
      return `${exprText(e.e)} ${e.not ? 'NOT ' : ''}${e.similar ? 'SIMILAR TO' : 'LIKE'} ${exprText(e.pattern)}`;
    case 'case':
      return 'CASE …';
    case 'cast':
      return `CAST(${exprText(e.e)} AS ${e.type.root})`;
    case 'call':
      return `${e.name}(${e.star ? '*' : e.args.map(exprText).join(', ')})`;
  }
}
