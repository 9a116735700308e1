/**
 * Seeing a running job: structured logs (pino), Prometheus metrics (prom-client) with source lag,
 * and a live status page, all through {@link observe}. Reads the runtime through the job handle
 * (`events$`, `metrics()`, `sourceLag()`, `describe()`); the runtime knows nothing of it.
 */
export { observe, type ObserveOptions, type Observer, type ObservedJob } from './observer.js';
export { HTTP_LIMITS, type HttpServerOptions } from './http-server.js';
export {
  createLogger,
  resolveLogLevel,
  LOG_LEVELS,
  LOG_LEVEL_ENV,
  type LogLevel,
  type LogOptions,
  type Logger,
} from './logger.js';
export { Redactor, REDACTED, isSecretKey } from './redact.js';
export type {
  StatusSnapshot,
  CheckpointRow,
  OperatorRow,
  TaskRow,
  ClusterStatus,
  ClusterReading,
} from './job-state.js';
