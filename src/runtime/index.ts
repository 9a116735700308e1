/**
 * The dataflow runtime: build a pipeline on a {@link StreamEnvironment}, run it with `execute`,
 * await or observe the returned {@link JobHandle}.
 *
 * State rule (operators, readers, enumerators, sinks): checkpointed values are JSON values plus
 * bigint, Buffer/Uint8Array, Map, Set, Date, undefined and non-finite numbers, built from plain
 * objects and arrays (no class instances, functions, symbols or cycles). They are deep-copied
 * when the snapshot is taken; a value outside the rule fails the snapshot naming its path.
 */
export {
  StreamEnvironment,
  type ExecuteOptions,
  type SourceOptions,
} from './stream-environment.js';
export { DataStream, DataStreamSink, KeyedStream, WindowedStream } from './data-stream.js';
export { JobHandle } from './job-handle.js';
export type { KeyGroupControl, KeyGroupSpan } from './key-group-control.js';
export { registerScaleOut, type ScaleOutLauncher, type ScaleOutOptions } from './scale-out-hook.js';
export type {
  JobEvent,
  JobResult,
  JobStatus,
  OperatorMetrics,
  SubtaskMetrics,
  TaskMetrics,
  SourceLag,
  JobGraphDescription,
  CheckpointEvent,
} from './job-events.js';
export {
  jobOptionsSchema,
  parseJobOptions,
  restartDelay,
  type JobOptions,
  type JobOptionsInput,
  type RestartStrategyOptions,
} from './job-options.js';
export { WatermarkStrategy, type TimestampAssigner } from './watermark-strategy.js';
export {
  TumblingEventTimeWindows,
  SlidingEventTimeWindows,
  EventTimeSessionWindows,
  OutputTag,
  type WindowAssigner,
} from './windows.js';
export type {
  AggregateFunction,
  Collector,
  Key,
  KeyedContext,
  KeyedProcessFunction,
  ListState,
  MapState,
  OnTimerContext,
  OperatorOptions,
  TimeDomain,
  TimeWindow,
  TimerService,
  ValueState,
  WindowFunction,
} from './functions.js';
export { parseConfig } from '../config.js';
