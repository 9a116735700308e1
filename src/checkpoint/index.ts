export {
  encodeState,
  decodeState,
  stringifyState,
  parseState,
  type StateValue,
  type EncodedState,
} from './state-codec.js';
export type {
  CheckpointData,
  CheckpointRef,
  OperatorState,
  OperatorSubtaskState,
} from './checkpoint-data.js';
export type { CheckpointEvent } from './checkpoint-events.js';
export {
  FileCheckpointStore,
  InMemoryCheckpointStore,
  readCheckpointFile,
  resolveRestorePoint,
  checkpointFileName,
  type CheckpointStore,
  type SkippedCheckpoint,
} from './checkpoint-storage.js';
export {
  CheckpointCoordinator,
  type CheckpointHook,
  type CheckpointTask,
  type CheckpointingOptions,
} from './checkpoint-coordinator.js';
