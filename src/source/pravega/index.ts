export { PravegaSource, type PravegaSourceSettings, type StreamSpec } from './pravega-source.js';
export type { PravegaReaderSplit, PravegaEnumeratorState } from './pravega-split.js';
export { readerGroupName } from './names.js';
export { PravegaBatchSource } from './batch-source.js';
export type { SegmentRangeSplit, BatchEnumeratorState } from './batch-split.js';
export { eventPointerBytes, type SourceEvent } from './event-pointer.js';
