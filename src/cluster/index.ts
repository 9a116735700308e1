/**
 * Scale-out coordination (docs/scale-out.md): the workers of one job meet in a Pravega table
 * segment — membership with heartbeats and fencing epochs, a leader elected by conditional update,
 * and the cluster checkpoint record protocol. Imports the client; only the CLI imports this.
 */
export { ClusterMember, type ClusterEvent, type ClusterMemberOptions } from './cluster-member.js';
export {
  SegmentCoordinationTable,
  clusterTableSegment,
  type CoordinationTable,
  type TableWrite,
  type VersionedRecord,
} from './coordination-table.js';
export { decideCheckpoint, type CheckpointDecision } from './checkpoint-decision.js';
export { VersionWatch } from './liveness.js';
export type {
  AckRecord,
  CheckpointRecord,
  CompletedRecord,
  LeaderRecord,
  MemberRecord,
  Participant,
} from './records.js';
export { withDeadline, waitUntil } from './deadline.js';
export {
  ClusterWorker,
  type ClusterWorkerEvent,
  type ClusterWorkerOptions,
} from './cluster-worker.js';
export {
  launchWorkers,
  isSpawnedWorker,
  DEFAULT_CLUSTER_SCOPE,
  WORKER_OF_ENV,
} from './launch-workers.js';
export { readClusterView, type ClusterView, type ClusterMemberView } from './cluster-view.js';
export { pieceOf, asWorkerPiece, type WorkerPiece, type SinkTransactions } from './worker-piece.js';
