export type {
  AnySource,
  Boundedness,
  CheckpointSettings,
  CloseReason,
  Preflight,
  PreflightContext,
  PreflightResult,
  EnumeratorStart,
  ExternallyInducedSourceReader,
  PollResult,
  Source,
  SourceBatch,
  SourceJobInfo,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
  StateSerializer,
  StreamLag,
} from './source.js';
export { isExternallyInducedReader } from './source.js';
export type { KeyGroupControl, KeyGroupSpan } from '../runtime/key-group-control.js';
export { SequenceSource, type SequenceSourceOptions } from './sequence/sequence-source.js';
export type { SequenceSplit, SequenceEnumeratorState } from './sequence/sequence-split.js';
export { AsyncIterableSource, type IterableInput } from './interop/async-iterable-source.js';
export { ObservableSource } from './interop/observable-source.js';
