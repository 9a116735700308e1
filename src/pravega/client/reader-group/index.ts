export { Checkpoint, type CheckpointJson } from './checkpoint.js';
export {
  EventStreamReader,
  EventReaderOptionsSchema,
  type EventReaderOptions,
  type ReadBatch,
  type ReadBatchOptions,
  type ReadOne,
  type ReadRuns,
  type ReaderPosition,
  type AcquiredHook,
  type HeldHook,
  type ReleasedHook,
  type SegmentAt,
} from './event-stream-reader.js';
export type { PayloadRun, ReadEvent } from './owned-segment.js';
export { ReaderGroup, type CheckpointWaitOptions, type ReaderGroupClient } from './reader-group.js';
export {
  ReaderGroupConfigSchema,
  parseReaderGroupConfig,
  type ReaderGroupConfig,
  type ReaderGroupConfigInput,
  type ReaderGroupStream,
  type ReaderGroupStreamInput,
} from './reader-group-config.js';
export { readerGroupSegment } from './state-table.js';
