import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { z } from 'zod';
import { parseConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import type { JobHandle } from '../runtime/index.js';
import { ObserverHttpServer, type HttpServerOptions } from './http-server.js';
import { logEvent, logStart } from './job-log.js';
import { JobState, type ClusterReading, type StatusSnapshot } from './job-state.js';
import { createLogger, LOG_LEVELS, type LogOptions } from './logger.js';
import { PrometheusMetrics } from './prometheus.js';
import { Redactor } from './redact.js';

/** The parts of a {@link JobHandle} the observer reads. */
export type ObservedJob = Pick<
  JobHandle,
  'jobName' | 'options' | 'events$' | 'describe' | 'metrics' | 'sourceLag' | 'result'
>;

export interface ObserveOptions {
  /**
   * Serve the status page (`/`), Prometheus metrics (`/metrics`), `/api/status` and
   * `/api/events`. One server or several (e.g. a status port and a metrics port); omit for none.
   */
  readonly http?: HttpServerOptions | readonly HttpServerOptions[];
  /** Structured logs (pino); `false` for none. Default: level from `$TRIBUTARY_LOG_LEVEL` or info. */
  readonly log?: LogOptions | false;
  /** How often source lag is measured, ms (default 2000). */
  readonly lagIntervalMs?: number;
  /** Include Node's default process metrics (default true). */
  readonly processMetrics?: boolean;
  /** Close the servers once the job has ended (default true; false keeps the last state on show). */
  readonly closeWhenJobEnds?: boolean;
  /**
   * The job runs in several worker processes and this is one of them (docs/scale-out.md): every
   * metric carries `worker_id`, and the status page lists every worker, read with `read` every
   * `intervalMs` (default 2000) — e.g. `{ workerId: w.workerId, read: () => w.describeCluster() }`
   * for a `ClusterWorker` w.
   */
  readonly cluster?: {
    readonly workerId: string;
    readonly read: () => Promise<ClusterReading>;
    readonly intervalMs?: number;
  };
}

export interface Observer {
  /** The URL of each HTTP server, in the order given. */
  readonly urls: readonly string[];
  readonly registry: Registry;
  /** The logger (a silent one with `log: false`). */
  readonly logger: Logger;
  /** The status the page shows. */
  status(): StatusSnapshot;
  /** Stops the lag polling, closes the servers. Idempotent. */
  close(): Promise<void>;
}

const httpSchema = z
  .object({
    port: z.number().int().min(0).max(65_535),
    host: z.string().min(1).optional(),
    token: z.string().min(8).optional(),
  })
  .strict();

const optionsSchema = z
  .object({
    http: z.union([httpSchema, z.array(httpSchema)]).optional(),
    log: z
      .union([
        z.literal(false),
        z
          .object({
            level: z.enum(LOG_LEVELS).optional(),
            pretty: z.boolean().optional(),
            destination: z
              .custom<NonNullable<LogOptions['destination']>>(
                (v) =>
                  typeof v === 'object' &&
                  v !== null &&
                  typeof (v as { write?: unknown }).write === 'function',
                'must be a writable stream',
              )
              .optional(),
            secrets: z.array(z.string()).optional(),
          })
          .strict(),
      ])
      .optional(),
    lagIntervalMs: z.number().int().min(100).max(600_000).default(2_000),
    processMetrics: z.boolean().default(true),
    closeWhenJobEnds: z.boolean().default(true),
    cluster: z
      .object({
        workerId: z.string().min(1),
        read: z.custom<() => Promise<ClusterReading>>(
          (v) => typeof v === 'function',
          'must be a function',
        ),
        intervalMs: z.number().int().min(100).max(600_000).default(2_000),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Watches a running job: logs its lifecycle, keeps Prometheus metrics (source lag measured every
 * `lagIntervalMs`) and serves the status page. Call it right after `execute()` (it subscribes
 * before returning its promise, so no event is missed):
 *
 * ```ts
 * const handle = env.execute('clean-orders');
 * const observer = await observe(handle, { http: { port: 9464 }, log: { level: 'info' } });
 * console.log(`status page: ${observer.urls[0]}`);
 * await handle;
 * ```
 */
export async function observe(job: ObservedJob, options: ObserveOptions = {}): Promise<Observer> {
  const o = parseConfig(optionsSchema, options, 'observe options');
  const servers: HttpServerOptions[] = (
    o.http === undefined ? [] : Array.isArray(o.http) ? o.http : [o.http]
  ).map((s) => ({
    port: s.port,
    ...(s.host === undefined ? {} : { host: s.host }),
    ...(s.token === undefined ? {} : { token: s.token }),
  }));
  const redactor = new Redactor([
    ...Redactor.collectSecrets(job.options),
    ...servers.flatMap((s) => (s.token === undefined ? [] : [s.token])),
    ...(o.log === false || o.log === undefined ? [] : (o.log.secrets ?? [])),
  ]);
  const logger =
    o.log === false
      ? createLogger({ level: 'silent' }, redactor)
      : createLogger(o.log === undefined ? {} : (o.log as LogOptions), redactor);
  const log = logger.child({ job: job.jobName });
  const graph = job.describe();
  const state = new JobState(job.jobName, graph, Date.now(), (t) => redactor.text(t));
  if (o.cluster !== undefined) state.setWorker(o.cluster.workerId);
  const registry = new Registry();
  const metrics = new PrometheusMetrics(registry, job.jobName, job, state, {
    processMetrics: o.processMetrics,
    ...(o.cluster !== undefined ? { workerId: o.cluster.workerId } : {}),
  });
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const l of listeners) l();
  };

  // subscribe before the first await: the job starts on the next microtask
  let ended = false;
  const subscription: Subscription = job.events$.subscribe({
    next: (event) => {
      state.apply(event);
      metrics.onEvent(event);
      logEvent(log, event);
      changed();
    },
    complete: () => {
      ended = true;
      changed();
    },
  });
  logStart(log, { name: job.jobName, options: job.options, graph });

  const lag = new Poller(
    { what: 'source lag', event: 'lag' },
    () => job.sourceLag(),
    o.lagIntervalMs,
    log,
    (sources) => {
      state.setLag(sources, Date.now());
      changed();
    },
  );
  const cluster = o.cluster;
  const workers =
    cluster === undefined
      ? undefined
      : new Poller(
          { what: 'the workers of the job', event: 'cluster-read' },
          cluster.read,
          cluster.intervalMs,
          log,
          (reading) => {
            state.setCluster(reading, Date.now());
            changed();
          },
          (message) => {
            state.setClusterError(message);
            changed();
          },
        );
  const started: ObserverHttpServer[] = [];
  try {
    for (const s of servers) {
      const server = await ObserverHttpServer.start(s, {
        metrics: async () => ({
          contentType: registry.contentType,
          body: await registry.metrics(),
        }),
        status: () => state.snapshot(),
        onChange: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      });
      started.push(server);
      const exposed = !isLoopback(s.host ?? '127.0.0.1');
      log.info(
        { event: 'http-listening', url: server.url, bearerRequired: s.token !== undefined },
        `status page and metrics at ${server.url}${exposed && s.token === undefined ? ' (reachable from other machines, no token)' : ''}`,
      );
    }
  } catch (err) {
    lag.stop();
    workers?.stop();
    subscription.unsubscribe();
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
  lag.start();
  workers?.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      lag.stop();
      workers?.stop();
      subscription.unsubscribe();
      listeners.clear();
      await Promise.all(started.map((s) => s.close()));
    })());

  const settle = async (): Promise<void> => {
    lag.stop();
    workers?.stop();
    // one last measurement is meaningless (no attempt runs); keep the last one on show
    if (o.closeWhenJobEnds) await close();
  };
  job.result.then(settle, settle);
  if (ended) await settle();

  return {
    urls: started.map((s) => s.url),
    registry,
    logger,
    status: () => state.snapshot(),
    close,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Reads something every interval (source lag, the workers); one read at a time, each with a deadline. */
class Poller<T> {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastError: string | undefined;

  constructor(
    private readonly name: { readonly what: string; readonly event: string },
    private readonly read: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onValue: (value: T) => void,
    private readonly onError?: (message: string) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.measure(), ms);
    this.timer.unref();
  }

  private async measure(): Promise<void> {
    const deadlineMs = Math.max(10_000, this.intervalMs * 5);
    const { what, event } = this.name;
    let timeout: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        this.read(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`no answer within ${deadlineMs} ms`)),
            deadlineMs,
          );
        }),
      ]);
      if (this.stopped) return;
      this.onValue(value);
      if (this.lastError !== undefined)
        this.log.info({ event: `${event}-ok` }, `${what} read again`);
      this.lastError = undefined;
    } catch (err) {
      const message = errorMessage(err);
      if (this.stopped) return;
      this.onError?.(message);
      // once per distinct problem: a job that is restarting can fail this every time
      if (message !== this.lastError)
        this.log.warn({ event: `${event}-failed`, err }, `reading ${what} failed: ${message}`);
      this.lastError = message;
    } finally {
      if (timeout !== undefined) clearTimeout(timeout);
      this.schedule(this.intervalMs);
    }
  }
}
