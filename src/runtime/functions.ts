import type { Key } from './key-groups.js';
import type { ListState, MapState, ValueState } from './keyed-state.js';
import type { TimeDomain } from './timer-service.js';

export type { Key } from './key-groups.js';
export type { ListState, MapState, ValueState } from './keyed-state.js';
export type { TimeDomain } from './timer-service.js';

/** Receives the outputs of a function; the timestamp defaults to the input's (or the timer's). */
export interface Collector<T> {
  collect(value: T, timestamp?: number): void;
}

/** Timers of the current key. */
export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerEventTimeTimer(timestamp: number): void;
  deleteEventTimeTimer(timestamp: number): void;
  registerProcessingTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
}

/** What a keyed function sees for each record: its key, timestamp, keyed state and timers. */
export interface KeyedContext<K extends Key> {
  readonly key: K;
  /** Event timestamp of the current record (or timer), if any. */
  readonly timestamp: number | undefined;
  readonly timers: TimerService;
  valueState<T>(name: string): ValueState<T>;
  listState<T>(name: string): ListState<T>;
  mapState<MK, MV>(name: string): MapState<MK, MV>;
}

export interface OnTimerContext<K extends Key> extends KeyedContext<K> {
  readonly timeDomain: TimeDomain;
}

/** Keyed processing with state and timers (Flink's `KeyedProcessFunction`). */
export interface KeyedProcessFunction<K extends Key, I, O> {
  processElement(value: I, ctx: KeyedContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

/** Incremental window aggregation. Accumulators are state: they follow the `StateValue` rules. */
export interface AggregateFunction<I, Acc, O> {
  createAccumulator(): Acc;
  add(value: I, accumulator: Acc): Acc;
  getResult(accumulator: Acc): O;
  /**
   * Combines two accumulators into one (may reuse either). Required for merging windows
   * (`EventTimeSessionWindows`): merged sessions merge their accumulators.
   */
  merge?(a: Acc, b: Acc): Acc;
}

/** An event-time window [start, end). */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** Receives a window's aggregated result with its key and bounds (called once per window firing). */
export type WindowFunction<K extends Key, R, O> = (
  key: K,
  window: TimeWindow,
  result: R,
  out: Collector<O>,
) => void;

/** Per-operator settings shared by every transformation. */
export interface OperatorOptions {
  /** Display name (also the default uid prefix). */
  readonly name?: string;
  /** Stable id for state across restarts and versions; defaults to a position-derived id. */
  readonly uid?: string;
  readonly parallelism?: number;
}
