import {
  LOG_LEVELS,
  observe,
  type LogLevel,
  type ObserveOptions as Options,
} from '../observe/index.js';
import type { JobHandle } from '../runtime/job-handle.js';
import type { Output } from './output.js';
import { usageError } from './usage-error.js';

/**
 * Where `tributary run` hands the job to the observability module (src/observe/): the status page
 * and Prometheus metrics on `--status-port` / `--metrics-port` (one server when they are the
 * same port; each serves everything), and structured logs (pino, on stderr so they never mix
 * with the command's own output) at `--log-level`.
 */

export interface ObserveOptions {
  readonly statusPort?: number;
  readonly metricsPort?: number;
  readonly logLevel?: string;
}

export interface Observation {
  /** where the status page is served, for the start-up message */
  readonly statusUrl: string | undefined;
  /** where Prometheus scrapes, for the start-up message */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Fails before the job starts if an option is not one the observe module takes. */
export function checkObserveOptions(options: ObserveOptions): void {
  if (
    options.logLevel !== undefined &&
    !(LOG_LEVELS as readonly string[]).includes(options.logLevel)
  ) {
    throw usageError(
      `--log-level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(options.logLevel)}`,
    );
  }
}

export async function observeJob(
  handle: JobHandle,
  options: ObserveOptions,
  cluster?: Options['cluster'],
): Promise<Observation> {
  checkObserveOptions(options);
  const { statusPort, metricsPort, logLevel } = options;
  const ports = [statusPort, metricsPort].filter((p): p is number => p !== undefined);
  const distinct = [...new Set(ports)];
  if (distinct.length === 0 && logLevel === undefined) {
    return { statusUrl: undefined, metricsUrl: undefined, close: async () => undefined };
  }
  const config: Options = {
    ...(distinct.length > 0 ? { http: distinct.map((port) => ({ port })) } : {}),
    log:
      logLevel === undefined
        ? false
        : {
            level: logLevel as LogLevel,
            destination: process.stderr,
            pretty: process.stderr.isTTY === true,
          },
    closeWhenJobEnds: true,
    ...(cluster !== undefined ? { cluster } : {}),
  };
  const observer = await observe(handle, config);
  const urlOf = (port: number | undefined): string | undefined =>
    port === undefined ? undefined : observer.urls[distinct.indexOf(port)];
  const metrics = urlOf(metricsPort);
  return {
    statusUrl: urlOf(statusPort),
    metricsUrl: metrics === undefined ? undefined : new URL('/metrics', metrics).toString(),
    close: () => observer.close(),
  };
}

/** The start-up lines that say where the status page and the metrics are (or their JSON events). */
export function announceObservation(observation: Observation, out: Output): void {
  if (observation.statusUrl !== undefined) {
    if (out.json) out.jsonLine({ type: 'status-page', url: observation.statusUrl });
    else out.line(`status page: ${observation.statusUrl}`);
  }
  if (observation.metricsUrl !== undefined) {
    if (out.json) out.jsonLine({ type: 'metrics-endpoint', url: observation.metricsUrl });
    else out.line(`Prometheus metrics: ${observation.metricsUrl}`);
  }
}
