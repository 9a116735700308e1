import type { Subscription } from 'rxjs';
import { hasErrorCode } from '../errors.js';
import type { JobEvent } from '../runtime/job-events.js';
import type { JobHandle } from '../runtime/job-handle.js';
import { formatBytes, type Output } from './output.js';

/**
 * What `tributary run` prints while a job runs: with --json every job event as one JSON line
 * (errors as {code, message}); otherwise one human line per lifecycle step (status, checkpoint,
 * restart, warning) and the records counted by each operator at most every `metricsEveryMs`.
 * (The observe module's structured logs take over from this when it is wired in.)
 */
export function reportJob(handle: JobHandle, out: Output, metricsEveryMs = 10_000): Subscription {
  let lastMetrics = 0;
  return handle.events$.subscribe((event) => {
    if (out.json) {
      out.jsonLine(jsonOf(event));
      return;
    }
    const text = humanLine(event, () => {
      if (event.time - lastMetrics < metricsEveryMs) return false;
      lastMetrics = event.time;
      return true;
    });
    if (text !== undefined) out.line(`${new Date(event.time).toISOString()}  ${text}`);
  });
}

function errorJson(err: Error): { code: string | undefined; message: string } {
  return { code: (err as { code?: string }).code, message: err.message };
}

export function jsonOf(event: JobEvent): Record<string, unknown> {
  if ((event.type === 'status' || event.type === 'restart') && event.error) {
    return { ...event, error: errorJson(event.error) };
  }
  return { ...event };
}

export function humanLine(event: JobEvent, metricsDue: () => boolean): string | undefined {
  switch (event.type) {
    case 'status':
      return `job ${event.status}${event.attempt > 0 ? ` (attempt ${event.attempt})` : ''}${event.error ? `: ${event.error.message}` : ''}`;
    case 'checkpoint-completed':
      return `checkpoint ${event.checkpointId}${event.final ? ' (final)' : ''} completed in ${Math.round(event.durationMs)} ms, ${formatBytes(event.stateBytes)}`;
    case 'checkpoint-aborted':
      return `checkpoint ${event.checkpointId} aborted after ${Math.round(event.durationMs)} ms: ${event.reason}`;
    case 'checkpoint-triggered':
      return undefined;
    case 'restart':
      return `restart ${event.attempt} in ${event.delayMs} ms from ${event.fromCheckpoint === undefined ? 'the start' : `checkpoint ${event.fromCheckpoint}`} after: ${event.error.message}${hasErrorCode(event.error, 'DATA_LOSS') ? ' (DATA LOSS)' : ''}`;
    case 'restored':
      return event.message;
    case 'warning':
      return `warning: ${event.message}`;
    case 'metrics':
      if (!metricsDue()) return undefined;
      return `records: ${event.operators.map((o) => `${o.name} ${o.recordsIn} in / ${o.recordsOut} out`).join(', ')}`;
  }
}
