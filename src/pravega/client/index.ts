export {
  PravegaClient,
  ClientConfigSchema,
  parseStreamName,
  type ClientConfig,
} from './pravega-client.js';
export { acquireClient, type SharedClient } from './client-registry.js';
export { bytesSerializer, jsonSerializer, utf8Serializer, type Serializer } from './serializer.js';
export { EventStreamWriter, type EventWriterOptions } from './event-writer.js';
export {
  TransactionalEventStreamWriter,
  Transaction,
  MIN_TXN_LEASE_MS,
  MAX_TXN_LEASE_MS,
  type TransactionPhase,
  type TransactionalWriterOptions,
} from './transaction.js';
export { StreamScanner, type ScannedEvent } from './stream-scanner.js';
export { BatchClient, type SegmentRange } from './batch-client.js';
export {
  headCut,
  tailCut,
  unboundedCut,
  isUnbounded,
  parseStreamCut,
  streamCutFromBytes,
  streamCutToBytes,
  streamCutToText,
  type StreamCut,
} from './stream-cut.js';
export * from './reader-group/index.js';
