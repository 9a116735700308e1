import type { JobHandle } from '../runtime/job-handle.js';
import { usageError } from './usage-error.js';

/**
 * Where `tributary run` hands the job to the observability module (structured logs, Prometheus
 * metrics, the status page in src/observe/). Until that module is part of this build, asking for
 * any of it is a usage error rather than an option silently ignored.
 */

export interface ObserveOptions {
  readonly statusPort?: number;
  readonly metricsPort?: number;
  readonly logLevel?: string;
}

export interface Observation {
  /** where the status page is served, for the start-up message */
  readonly statusUrl: string | undefined;
  close(): Promise<void>;
}

/** Fails before the job starts if an option asks for something this build cannot do. */
export function checkObserveOptions(options: ObserveOptions): void {
  const asked = (
    [
      ['--status-port', options.statusPort],
      ['--metrics-port', options.metricsPort],
      ['--log-level', options.logLevel],
    ] as const
  ).filter(([, value]) => value !== undefined);
  const first = asked[0];
  if (first) {
    throw usageError(
      `${first[0]} needs the observe module (src/observe: logs, metrics, status page), which is not in this build`,
    );
  }
}

export async function observeJob(
  _handle: JobHandle,
  options: ObserveOptions,
): Promise<Observation> {
  checkObserveOptions(options);
  return { statusUrl: undefined, close: async () => undefined };
}
