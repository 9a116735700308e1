/**
 * Tributary: exactly-once stream processing for Node.js on Pravega.
 *
 * - Pravega client: {@link PravegaClient} (`tcp://`, `tls://` or `embedded:<dir>`), writers,
 *   transactions, reader groups, stream cuts, batch reads.
 * - Dataflow runtime: {@link StreamEnvironment} → sources, operators, sinks → `execute`.
 * - Connectors: {@link PravegaSource} (checkpoints delegated to a reader group) and
 *   {@link PravegaSink} (best-effort, at-least-once, exactly-once with Pravega transactions).
 */
import { launchWorkers } from './cluster/launch-workers.js';
import { registerScaleOut } from './runtime/scale-out-hook.js';

export {
  TributaryError,
  ERROR_CODES,
  hasErrorCode,
  isRetryable,
  RETRYABLE_BY_DEFAULT,
  type ErrorCode,
} from './errors.js';

// Pravega client
export * from './pravega/client/index.js';
export type {
  StreamId,
  StreamConfig,
  ScalingPolicy,
  RetentionPolicy,
  SegmentWithRange,
  TxnState,
} from './pravega/controller/types.js';
export type { Controller } from './pravega/controller/controller.js';
export type { SegmentStore } from './pravega/segment/segment-store.js';
export {
  openEmbeddedPravega,
  type EmbeddedPravega,
  type EmbeddedOptions,
  type RecoveryReport,
} from './pravega/embedded/index.js';

// Dataflow runtime
export * from './runtime/index.js';
export type { StateValue } from './checkpoint/index.js';

// Sources and sinks
export * from './source/index.js';
export { PravegaSource, type StreamSpec } from './source/pravega/index.js';
export * from './sink/index.js';
export { PravegaSink, type DeliveryGuarantee } from './sink/pravega/index.js';
export * from './twophase/index.js';

// Observing a running job: logs, metrics, status page
export * from './observe/index.js';

// The `tributary run` job-module contract (see src/cli/job-module.ts)
export type { JobContext, JobBuilder } from './cli/job-module.js';
export * from './table/index.js';

// keyBy through an internal Pravega stream: the edge whose segments carry keyed state between
// the workers of a scaled-out job (docs/scale-out.md §6)
export { keyByExchange, type ExchangeOptions } from './cluster/exchange/index.js';

// One worker of a job run in several processes (docs/scale-out.md §10, §6 for keyed jobs)
export {
  ClusterWorker,
  type ClusterWorkerEvent,
  type ClusterWorkerOptions,
  type ClusterView,
  type ClusterMemberView,
  isSpawnedWorker,
} from './cluster/index.js';

// execute(name, { workers: N }) runs the job in N worker processes through the scale-out module
registerScaleOut(launchWorkers);
