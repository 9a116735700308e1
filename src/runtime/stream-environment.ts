import type { Observable } from 'rxjs';
import { z } from 'zod';
import { TributaryError } from '../errors.js';
import {
  AsyncIterableSource,
  type IterableInput,
} from '../source/interop/async-iterable-source.js';
import { ObservableSource } from '../source/interop/observable-source.js';
import type { Source, SourceSplit } from '../source/source.js';
import { parseConfig } from '../config.js';
import { DataStream } from './data-stream.js';
import type { ExternalCheckpointing } from './external-checkpoints.js';
import { buildJobGraph, describeGraph } from './job-graph.js';
import type { JobGraphDescription } from './job-events.js';
import { JobExecution, type JobConnector } from './job-execution.js';
import { JobHandle } from './job-handle.js';
import { parseJobOptions, type JobOptions, type JobOptionsInput } from './job-options.js';
import { scaleOutLauncher } from './scale-out-hook.js';
import { PipelineBuilder } from './transformation.js';
import type { WatermarkStrategy } from './watermark-strategy.js';

export interface SourceOptions<T> {
  readonly name?: string;
  /** Stable id of the source's state (reader splits, enumerator) across restarts. */
  readonly uid?: string;
  readonly parallelism?: number;
  readonly watermarkStrategy?: WatermarkStrategy<T>;
}

/**
 * How `execute` starts the job. A job is its name plus its checkpoint directory: started again,
 * it resumes from the latest completed checkpoint there (and says so in a `restored` event).
 */
export interface ExecuteOptions {
  /**
   * Resume from this checkpoint file, or the newest intact checkpoint of this directory (which
   * may belong to another job name), instead of the job's own checkpoint directory.
   */
  readonly restoreFrom?: string;
  /**
   * `'latest'` (default): resume from the latest completed checkpoint in `checkpoint.dir`, or
   * start from scratch when there is none. `'scratch'`: start over (sources at their configured
   * start) — refused while `checkpoint.dir` holds checkpoints, since the earlier run's output
   * would be written again, unless `allowDuplicates`.
   */
  readonly startFrom?: 'latest' | 'scratch';
  /**
   * Accept duplicate output: start from scratch over existing checkpoints, or restore from a
   * checkpoint that is not the latest (whose transactions a later one already committed).
   */
  readonly allowDuplicates?: boolean;
  /**
   * SIGINT/SIGTERM stop the job with a final checkpoint (a second one cancels it). Default true;
   * `false` for embedders that handle signals themselves (call `handle.stop()`).
   */
  readonly stopOnSignals?: boolean;
  /**
   * Run as one worker of several (docs/scale-out.md): checkpoints are triggered and completed
   * outside this process. Set by src/cluster (`tributary run --workers`), not by hand.
   */
  readonly external?: ExternalCheckpointing;
  /**
   * Run the job in this many worker processes on this machine (docs/scale-out.md; default 1 =
   * this process alone, as always). With N > 1 this process is the first worker and starts N − 1
   * more, each running this same script with the same arguments; in those, `execute` joins the
   * job instead (`isSpawnedWorker()` is true there: guard one-time setup such as writing input
   * with it). The workers share the job's reader groups through the Pravega server of the job's
   * `pravega` option (a real server: the embedded store belongs to one process); the returned
   * handle is this process's worker. Stateless jobs only for now (a keyed job is refused).
   */
  readonly workers?: number;
  /** Scope of the workers' coordination table with `workers` > 1 (default `tributary`). */
  readonly clusterScope?: string;
}

const executeSchema = z
  .object({
    restoreFrom: z.string().min(1).optional(),
    startFrom: z.enum(['latest', 'scratch']).default('latest'),
    allowDuplicates: z.boolean().default(false),
    stopOnSignals: z.boolean().default(true),
    external: z
      .custom<ExternalCheckpointing>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as ExternalCheckpointing).attach === 'function' &&
          typeof (v as ExternalCheckpointing).externalCompletion === 'function',
        { message: 'must be an ExternalCheckpointing (attach, externalCompletion)' },
      )
      .optional(),
    workers: z.number().int().min(1).max(256).default(1),
    clusterScope: z.string().min(1).optional(),
  })
  .strict()
  .refine((o) => !(o.workers > 1 && o.external !== undefined), {
    message: 'workers and external exclude each other',
    path: ['workers'],
  })
  .refine((o) => !(o.workers > 1 && (o.restoreFrom !== undefined || o.startFrom === 'scratch')), {
    message:
      "with workers > 1 the job starts from its workers' last completed checkpoint: restoreFrom and startFrom: 'scratch' do not apply",
    path: ['workers'],
  })
  .refine((o) => !(o.restoreFrom !== undefined && o.startFrom === 'scratch'), {
    message: "restoreFrom and startFrom: 'scratch' exclude each other",
    path: ['startFrom'],
  });

/**
 * Where a pipeline is built and run:
 *
 * ```ts
 * const env = StreamEnvironment.create({ parallelism: 2, checkpoint: { intervalMs: 1000, dir } });
 * env.fromSource(SequenceSource.bounded(0, 1000), { name: 'numbers' })
 *    .map((n) => n * 2)
 *    .sinkTo(FileSink.jsonLines(outDir));
 * await env.execute('double');
 * ```
 */
export class StreamEnvironment {
  private readonly builder = new PipelineBuilder();

  private constructor(readonly options: JobOptions) {}

  /** Validates the options (CONFIG_INVALID names each bad key and why). */
  static create(options: JobOptionsInput = {}): StreamEnvironment {
    return new StreamEnvironment(parseJobOptions(options));
  }

  fromSource<T, Split extends SourceSplit, EnumState>(
    source: Source<T, Split, EnumState>,
    options: SourceOptions<T> = {},
  ): DataStream<T> {
    const p = options.parallelism;
    if (p !== undefined && (!Number.isInteger(p) || p < 1)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `fromSource: parallelism must be a positive integer, got ${p}`,
      );
    }
    const t = this.builder.add({
      kind: 'source',
      operation: 'source',
      name: options.name,
      uid: options.uid,
      parallelism: p,
      inputs: [],
      partitioning: 'forward',
      keySelector: undefined,
      createOperator: undefined,
      source: source,
      watermarkStrategy: options.watermarkStrategy as WatermarkStrategy<unknown> | undefined,
      isSink: false,
    });
    return new DataStream<T>(this.builder, t);
  }

  /**
   * A parallelism-1 source over an (async) iterable. Its state is the number of records
   * consumed; a restart re-iterates and skips them, so pass a factory (or a re-iterable such as
   * an array) whose iterations yield the same sequence. One-shot iterators cannot be replayed.
   */
  fromAsyncIterable<T>(
    input: IterableInput<T>,
    options: Omit<SourceOptions<T>, 'parallelism'> = {},
  ): DataStream<T> {
    return this.fromSource(new AsyncIterableSource(input), {
      name: 'iterable',
      ...options,
      parallelism: 1,
    });
  }

  /**
   * A parallelism-1 source over an Observable (subscribed anew on restart, skipping what was
   * consumed, so it must replay the same sequence). Buffers up to `bufferSize` values (default
   * 10 000) and fails the job if the Observable outruns it, since Observables cannot be slowed.
   */
  fromObservable<T>(
    input: Observable<T> | (() => Observable<T>),
    options: Omit<SourceOptions<T>, 'parallelism'> & { bufferSize?: number } = {},
  ): DataStream<T> {
    const { bufferSize, ...rest } = options;
    return this.fromSource(new ObservableSource(input, bufferSize ?? 10_000), {
      name: 'observable',
      ...rest,
      parallelism: 1,
    });
  }

  /** The job graph the pipeline built so far compiles to, without running it (SQL's EXPLAIN). */
  describe(): JobGraphDescription {
    return describeGraph(buildJobGraph(this.builder.transformations, this.options.parallelism));
  }

  /** Builds the job graph and starts it. The returned handle is awaitable. */
  execute(jobName: string, options: ExecuteOptions = {}): JobHandle {
    if (typeof jobName !== 'string' || jobName.trim() === '') {
      throw new TributaryError('CONFIG_INVALID', 'execute: jobName must be a non-empty string');
    }
    const start = parseConfig(executeSchema, options, 'execute options');
    if (start.workers > 1) {
      const launch = scaleOutLauncher();
      if (launch === undefined) {
        throw new TributaryError(
          'CONFIG_INVALID',
          "execute: workers > 1 needs the scale-out module: import StreamEnvironment from the 'tributary' package entry (it registers it), or call registerScaleOut",
        );
      }
      return launch(this, jobName, { workers: start.workers, clusterScope: start.clusterScope });
    }
    const graph = buildJobGraph(this.builder.transformations, this.options.parallelism);
    const connectors: JobConnector[] = [];
    for (const t of this.builder.transformations) {
      if (t.source !== undefined)
        connectors.push({ uid: t.uid, kind: 'source', subject: t.source });
      const sink = this.builder.sinks.get(t);
      if (sink !== undefined) connectors.push({ uid: t.uid, kind: 'sink', subject: sink });
    }
    return new JobHandle(
      new JobExecution(
        jobName,
        graph,
        this.options,
        { ...start, restoreFrom: start.restoreFrom },
        connectors,
      ),
    );
  }
}
