import { TributaryError } from '../errors.js';
import type { Sink } from '../sink/sink.js';
import type {
  AggregateFunction,
  Collector,
  KeyedContext,
  KeyedProcessFunction,
  OperatorOptions,
  TimeWindow,
  WindowFunction,
} from './functions.js';
import type { Key } from './key-groups.js';
import { FilterOperator, FlatMapOperator, MapOperator } from './operators/basic-operators.js';
import { KeyedProcessOperator } from './operators/keyed-process-operator.js';
import { SinkOperator } from './operators/sink-operator.js';
import { TimestampsAndWatermarksOperator } from './operators/timestamps-watermarks-operator.js';
import { WindowOperator, type WindowLateness } from './operators/window-operator.js';
import type { StreamOperator } from './operator.js';
import type { PipelineBuilder, Transformation } from './transformation.js';
import type { WatermarkStrategy } from './watermark-strategy.js';
import type { OutputTag, WindowAssigner } from './windows.js';

function checkOptions(what: string, options: OperatorOptions | undefined): void {
  const p = options?.parallelism;
  if (p !== undefined && (!Number.isInteger(p) || p < 1)) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${what}: parallelism must be a positive integer, got ${p}`,
    );
  }
  if (options?.uid !== undefined && options.uid.trim() === '') {
    throw new TributaryError('CONFIG_INVALID', `${what}: uid must not be empty`);
  }
}

/** A stream of records of type T. Every method returns a new stream; nothing runs until execute. */
export class DataStream<T> {
  /** @internal */
  constructor(
    protected readonly builder: PipelineBuilder,
    /** @internal */
    readonly transformation: Transformation,
  ) {}

  map<O>(fn: (value: T) => O, options?: OperatorOptions): DataStream<O> {
    return this.oneInput('map', options, () => new MapOperator(fn));
  }

  filter(predicate: (value: T) => boolean, options?: OperatorOptions): DataStream<T> {
    return this.oneInput('filter', options, () => new FilterOperator(predicate));
  }

  flatMap<O>(fn: (value: T) => Iterable<O>, options?: OperatorOptions): DataStream<O> {
    return this.oneInput('flatMap', options, () => new FlatMapOperator(fn));
  }

  /**
   * Assigns event timestamps and generates watermarks here, per subtask (Flink's
   * `assignTimestampsAndWatermarks`): the strategy's timestamp assigner gets each record and its
   * current timestamp; watermarks (bounded out-of-orderness, monotonous) and idleness
   * (`withIdleness`) come from what this subtask sees and replace the upstream ones.
   */
  assignTimestampsAndWatermarks(
    strategy: WatermarkStrategy<T>,
    options?: OperatorOptions,
  ): DataStream<T> {
    return this.oneInput(
      'timestamps-watermarks',
      options,
      () => new TimestampsAndWatermarksOperator(strategy),
    );
  }

  /**
   * The records this operator emitted to side output `tag` (e.g. a window's late data, see
   * `WindowedStream.sideOutputLateData`), as a stream of their own. Barriers and watermarks
   * travel on it as on the main output.
   */
  getSideOutput<S>(tag: OutputTag<S>): DataStream<S> {
    const producer = this.transformation;
    if (producer.kind !== 'operator' || !(producer.sideOutputs ?? []).includes(tag.id)) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `getSideOutput: "${producer.name}" has no side output "${tag.id}"; call it on the stream returned by the operator that emits to the tag (e.g. after window(...).sideOutputLateData(tag).aggregate(...))`,
      );
    }
    const t = this.builder.add({
      kind: 'side-output',
      operation: 'side-output',
      parallelism: undefined,
      inputs: [producer],
      partitioning: 'forward',
      keySelector: undefined,
      createOperator: undefined,
      source: undefined,
      watermarkStrategy: undefined,
      isSink: false,
      sideOutputTag: tag.id,
    });
    return new DataStream<S>(this.builder, t);
  }

  /**
   * A custom operator, one instance per subtask (Flink's `DataStream.transform`), for libraries
   * that need what the operations here do not offer (e.g. src/cluster's exchange, which turns
   * watermarks into records and back).
   */
  transform<O>(
    operation: string,
    create: () => StreamOperator,
    options?: OperatorOptions,
  ): DataStream<O> {
    return this.oneInput(operation, options, create);
  }

  /** Partitions by key: records with the same key go to the same subtask, in order. */
  keyBy<K extends Key>(keySelector: (value: T) => K): KeyedStream<T, K> {
    return new KeyedStream<T, K>(this.builder, this.transformation, keySelector);
  }

  /** Merges streams of the same type (no order between them). */
  union(...others: DataStream<T>[]): DataStream<T> {
    const t = this.builder.add({
      kind: 'union',
      operation: 'union',
      parallelism: undefined,
      inputs: [this.transformation, ...others.map((o) => o.transformation)],
      partitioning: 'forward',
      keySelector: undefined,
      createOperator: undefined,
      source: undefined,
      watermarkStrategy: undefined,
      isSink: false,
    });
    return new DataStream<T>(this.builder, t);
  }

  /** Ends the stream in a sink. */
  sinkTo(sink: Sink<T>, options?: OperatorOptions): DataStreamSink {
    const t = this.add('sink', options, () => new SinkOperator(sink), 'forward', undefined, true);
    this.builder.sinks.set(t, sink);
    return new DataStreamSink(t);
  }

  protected oneInput<O>(
    operation: string,
    options: OperatorOptions | undefined,
    create: () => StreamOperator,
  ): DataStream<O> {
    return new DataStream<O>(
      this.builder,
      this.add(operation, options, create, 'forward', undefined, false),
    );
  }

  protected add(
    operation: string,
    options: OperatorOptions | undefined,
    create: () => StreamOperator,
    partitioning: 'forward' | 'hash',
    keySelector: ((value: unknown) => Key) | undefined,
    isSink: boolean,
  ): Transformation {
    checkOptions(operation, options);
    return this.builder.add({
      kind: 'operator',
      operation,
      name: options?.name,
      uid: options?.uid,
      parallelism: options?.parallelism,
      inputs: [this.transformation],
      partitioning,
      keySelector,
      createOperator: create,
      source: undefined,
      watermarkStrategy: undefined,
      isSink,
    });
  }
}

/** The end of a pipeline branch. */
export class DataStreamSink {
  /** @internal */
  constructor(readonly transformation: Transformation) {}

  get uid(): string {
    return this.transformation.uid;
  }
}

type ProcessFn<K extends Key, T, O> =
  KeyedProcessFunction<K, T, O> | ((value: T, ctx: KeyedContext<K>, out: Collector<O>) => void);

/** A stateless keyed function: `fn` per record. */
function keyedFunction<K extends Key, T, O>(
  fn: (value: T, out: Collector<O>) => void,
): KeyedProcessFunction<K, T, O> {
  return { processElement: (value, _ctx, out) => fn(value, out) };
}

/** A stream partitioned by key; keyed state and timers are available downstream of it. */
export class KeyedStream<T, K extends Key> {
  /** @internal */
  constructor(
    private readonly builder: PipelineBuilder,
    private readonly input: Transformation,
    private readonly keySelector: (value: T) => K,
  ) {}

  /** Keyed processing with value/list/map state and event/processing-time timers. */
  process<O>(fn: ProcessFn<K, T, O>, options?: OperatorOptions): DataStream<O> {
    const function_: KeyedProcessFunction<K, T, O> =
      typeof fn === 'function' ? { processElement: fn } : fn;
    return this.keyed(
      'process',
      options,
      () => new KeyedProcessOperator(this.keySelector, function_),
    );
  }

  /**
   * `fn` on every record, after the partitioning by key (as Flink's `keyBy(…).map(…)`): the same
   * as `process` that collects `fn(value)`, timestamps kept.
   */
  map<O>(fn: (value: T) => O, options?: OperatorOptions): DataStream<O> {
    return this.keyed(
      'map',
      options,
      () =>
        new KeyedProcessOperator(
          this.keySelector,
          keyedFunction<K, T, O>((v, out) => out.collect(fn(v))),
        ),
    );
  }

  /** The records `predicate` keeps, after the partitioning by key. */
  filter(predicate: (value: T) => boolean, options?: OperatorOptions): DataStream<T> {
    return this.keyed(
      'filter',
      options,
      () =>
        new KeyedProcessOperator(
          this.keySelector,
          keyedFunction<K, T, T>((v, out) => {
            if (predicate(v)) out.collect(v);
          }),
        ),
    );
  }

  /** Every value `fn` returns for each record, after the partitioning by key. */
  flatMap<O>(fn: (value: T) => Iterable<O>, options?: OperatorOptions): DataStream<O> {
    return this.keyed(
      'flatMap',
      options,
      () =>
        new KeyedProcessOperator(
          this.keySelector,
          keyedFunction<K, T, O>((v, out) => {
            for (const o of fn(v)) out.collect(o);
          }),
        ),
    );
  }

  /**
   * A rolling reduce per key (Flink's `KeyedStream.reduce`): each record is combined with its
   * key's value so far, kept in keyed value state (checkpointed, rescaled by key group), and the
   * new value goes out. The first record of a key goes out as it is.
   */
  reduce(fn: (accumulated: T, value: T) => T, options?: OperatorOptions): DataStream<T> {
    return this.keyed(
      'reduce',
      options,
      () =>
        new KeyedProcessOperator<K, T, T>(this.keySelector, {
          processElement(value, ctx, out) {
            const state = ctx.valueState<T>('reduce');
            const before = state.value();
            const next = before === undefined ? value : fn(before, value);
            state.update(next);
            out.collect(next);
          },
        }),
    );
  }

  /** Event-time windows (tumbling, sliding or session) per key. */
  window(assigner: WindowAssigner): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this, assigner, {
      allowedLatenessMs: 0,
      lateDataTag: undefined,
    });
  }

  /** @internal */
  keyed<O>(
    operation: string,
    options: OperatorOptions | undefined,
    create: () => StreamOperator,
    sideOutputs?: readonly string[],
  ): DataStream<O> {
    checkOptions(operation, options);
    const t = this.builder.add({
      kind: 'operator',
      operation,
      name: options?.name,
      uid: options?.uid,
      parallelism: options?.parallelism,
      inputs: [this.input],
      partitioning: 'hash',
      keySelector: this.keySelector as (value: unknown) => Key,
      createOperator: create,
      source: undefined,
      watermarkStrategy: undefined,
      isSink: false,
      ...(sideOutputs === undefined ? {} : { sideOutputs }),
    });
    return new DataStream<O>(this.builder, t);
  }

  /** @internal */
  get selector(): (value: T) => K {
    return this.keySelector;
  }
}

/**
 * A keyed stream cut into event-time windows. A window fires when the watermark passes
 * `end - 1`; results carry timestamp `window.end - 1`.
 */
export class WindowedStream<T, K extends Key> {
  /** @internal */
  constructor(
    private readonly keyed: KeyedStream<T, K>,
    private readonly assigner: WindowAssigner,
    private readonly lateness: WindowLateness,
  ) {}

  /**
   * Keeps each window's state until the watermark passes `end - 1 + ms` (Flink's
   * `allowedLateness`): a record that comes after the window fired but within the lateness is
   * added and the window fires again with the updated result. Default 0.
   */
  allowedLateness(ms: number): WindowedStream<T, K> {
    if (!Number.isInteger(ms) || ms < 0) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `allowedLateness: must be an integer ≥ 0 (ms), got ${ms}`,
      );
    }
    return new WindowedStream<T, K>(this.keyed, this.assigner, {
      ...this.lateness,
      allowedLatenessMs: ms,
    });
  }

  /**
   * Sends records that are too late for every window they belong to (behind the watermark by
   * more than the allowed lateness) to side output `tag` instead of dropping them; read them with
   * `getSideOutput(tag)` on the windowed result stream.
   */
  sideOutputLateData(tag: OutputTag<T>): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.keyed, this.assigner, {
      ...this.lateness,
      lateDataTag: tag.id,
    });
  }

  /** Combines the records of each window pairwise. */
  reduce(fn: (a: T, b: T) => T, options?: OperatorOptions): DataStream<T> {
    const agg: AggregateFunction<T, [T] | [], T> = {
      createAccumulator: () => [],
      add: (value, acc) => (acc.length === 0 ? [value] : [fn(acc[0], value)]),
      getResult: (acc) => acc[0] as T,
      merge: (a, b) => (a.length === 0 ? b : b.length === 0 ? a : [fn(a[0], b[0])]),
    };
    return this.build('window-reduce', options, agg, (_k, _w, result, out) => out.collect(result));
  }

  /** Incremental aggregation with an accumulator per key and window. */
  aggregate<Acc, O>(agg: AggregateFunction<T, Acc, O>, options?: OperatorOptions): DataStream<O>;
  /**
   * Incremental aggregation whose result is handed, with its key and window, to `windowFn`
   * (Flink's `aggregate(aggregateFunction, processWindowFunction)`): state stays one accumulator
   * per key and window, and the output can carry the window's bounds.
   */
  aggregate<Acc, R, O>(
    agg: AggregateFunction<T, Acc, R>,
    windowFn: WindowFunction<K, R, O>,
    options?: OperatorOptions,
  ): DataStream<O>;
  aggregate<Acc, R, O>(
    agg: AggregateFunction<T, Acc, R>,
    windowFnOrOptions?: WindowFunction<K, R, O> | OperatorOptions,
    options?: OperatorOptions,
  ): DataStream<O> {
    if (typeof windowFnOrOptions === 'function') {
      return this.build('window-aggregate', options, agg, windowFnOrOptions);
    }
    return this.build('window-aggregate', windowFnOrOptions, agg, (_k, _w, result, out) =>
      out.collect(result as unknown as O),
    );
  }

  /** All records of a window at once (kept in state until the window fires). */
  process<O>(
    fn: (key: K, window: TimeWindow, elements: readonly T[], out: Collector<O>) => void,
    options?: OperatorOptions,
  ): DataStream<O> {
    const agg: AggregateFunction<T, T[], T[]> = {
      createAccumulator: () => [],
      add: (value, acc) => {
        acc.push(value);
        return acc;
      },
      getResult: (acc) => acc,
      merge: (a, b) => a.concat(b),
    };
    return this.build('window-process', options, agg, fn);
  }

  private build<Acc, R, O>(
    operation: string,
    options: OperatorOptions | undefined,
    agg: AggregateFunction<T, Acc, R>,
    emit: (key: K, window: TimeWindow, result: R, out: Collector<O>) => void,
  ): DataStream<O> {
    if (this.assigner.merging === true && agg.merge === undefined) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `${operation}: session (merging) windows need AggregateFunction.merge(a, b) to combine the accumulators of merged sessions; add it`,
      );
    }
    const selector = this.keyed.selector;
    const lateness = this.lateness;
    return this.keyed.keyed<O>(
      operation,
      options,
      () => new WindowOperator(selector, this.assigner, agg, emit, lateness),
      lateness.lateDataTag === undefined ? undefined : [lateness.lateDataTag],
    );
  }
}
