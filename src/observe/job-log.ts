import type { Logger } from 'pino';
import type { JobEvent, JobGraphDescription, JobOptions } from '../runtime/index.js';

/** What the log says when the observer starts: the job, its graph and its options (redacted). */
export function logStart(
  log: Logger,
  job: { name: string; options: JobOptions; graph: JobGraphDescription },
): void {
  log.info(
    {
      event: 'job-start',
      parallelism: job.options.parallelism,
      vertices: job.graph.vertices.map((v) => `${v.name} ×${v.parallelism}`),
      options: job.options,
    },
    `job "${job.name}" starting: ${job.graph.vertices.length} vertices`,
  );
}

/** One line per lifecycle step; metrics go at debug, checkpoint triggers at trace. */
export function logEvent(log: Logger, event: JobEvent): void {
  switch (event.type) {
    case 'status':
      switch (event.status) {
        case 'created':
          return;
        case 'running':
          if (event.fromCheckpoint !== undefined)
            log.info(
              {
                event: 'job-running',
                attempt: event.attempt,
                fromCheckpoint: event.fromCheckpoint,
              },
              `running (attempt ${event.attempt}), resumed from checkpoint ${event.fromCheckpoint}`,
            );
          else
            log.info(
              { event: 'job-running', attempt: event.attempt },
              `running (attempt ${event.attempt}) from the sources' start`,
            );
          return;
        case 'restarting':
          return; // the restart event says it with its cause
        case 'finished':
        case 'cancelled':
          log.info({ event: `job-${event.status}`, attempt: event.attempt }, `job ${event.status}`);
          return;
        case 'failed':
          log.error(
            { event: 'job-failed', attempt: event.attempt, err: event.error },
            `job failed: ${event.error?.message ?? 'unknown error'}`,
          );
          return;
      }
      return;
    case 'restart':
      log.warn(
        {
          event: 'job-restart',
          attempt: event.attempt,
          delayMs: event.delayMs,
          fromCheckpoint: event.fromCheckpoint,
          err: event.error,
        },
        `restart ${event.attempt} in ${event.delayMs} ms from ${
          event.fromCheckpoint === undefined
            ? "the sources' start"
            : `checkpoint ${event.fromCheckpoint}`
        }: ${event.error.message}`,
      );
      return;
    case 'checkpoint-triggered':
      log.trace(
        { event: 'checkpoint-triggered', checkpointId: event.checkpointId, final: event.final },
        `checkpoint ${event.checkpointId} triggered`,
      );
      return;
    case 'checkpoint-completed':
      log.info(
        {
          event: 'checkpoint-completed',
          checkpointId: event.checkpointId,
          final: event.final,
          durationMs: event.durationMs,
          bytes: event.stateBytes,
          ...(event.path === undefined ? {} : { path: event.path }),
        },
        `checkpoint ${event.checkpointId}${event.final ? ' (final)' : ''} completed in ${event.durationMs} ms, ${event.stateBytes} bytes`,
      );
      return;
    case 'checkpoint-aborted':
      log.warn(
        {
          event: 'checkpoint-aborted',
          checkpointId: event.checkpointId,
          durationMs: event.durationMs,
          reason: event.reason,
        },
        `checkpoint ${event.checkpointId} aborted after ${event.durationMs} ms: ${event.reason}`,
      );
      return;
    case 'transaction': {
      const fields = {
        event: `transaction-${event.action}`,
        sink: event.operatorName,
        subtask: event.subtask,
        ...(event.checkpointId === undefined ? {} : { checkpointId: event.checkpointId }),
        ...(event.recovery ? { recovery: true } : {}),
      };
      const where = `${event.operatorName}[${event.subtask}]`;
      if (event.action === 'begun') log.debug(fields, `${where}: transaction begun`);
      else
        log.info(
          fields,
          `${where}: transaction ${event.action}${
            event.checkpointId === undefined ? '' : ` (checkpoint ${event.checkpointId})`
          }${event.recovery ? ' while recovering' : ''}`,
        );
      return;
    }
    case 'metrics':
      log.debug(
        {
          event: 'metrics',
          records: Object.fromEntries(
            event.operators.map((o) => [o.name, { in: o.recordsIn, out: o.recordsOut }]),
          ),
        },
        'metrics',
      );
      return;
    case 'warning':
      log.warn({ event: 'warning', ...(event.details ?? {}) }, event.message);
      return;
  }
}
