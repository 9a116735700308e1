import { z } from 'zod';
import { TributaryError } from '../errors.js';
import { parseConfig } from '../config.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const restartStrategySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z
    .object({
      type: z.literal('fixed-delay'),
      /** Restarts allowed before the job fails for good. */
      maxAttempts: nonNegativeInt,
      delayMs: nonNegativeInt.default(1000),
    })
    .strict(),
  z
    .object({
      type: z.literal('exponential-delay'),
      maxAttempts: nonNegativeInt,
      initialDelayMs: nonNegativeInt.default(100),
      maxDelayMs: nonNegativeInt.default(30_000),
      multiplier: z.number().min(1).default(2),
    })
    .strict(),
]);

const checkpointSchema = z
  .object({
    /** Periodic checkpoints; omit to checkpoint only on request and at the end of a bounded job. */
    intervalMs: positiveInt.optional(),
    minPauseMs: nonNegativeInt.default(0),
    timeoutMs: positiveInt.default(60_000),
    maxConcurrent: positiveInt.default(1),
    /**
     * Checkpoints that may fail in a row (time out, be declined, fail to store) before the job
     * fails and restarts from the last completed checkpoint — Flink's
     * `tolerable-failed-checkpoints`. A job whose checkpoints keep failing commits nothing, and
     * its open transactions age towards their lease; a restart is the cure.
     */
    tolerableFailures: nonNegativeInt.default(3),
    /** Durable checkpoints go here; without it checkpoints are kept in memory (restarts only). */
    dir: z.string().min(1).optional(),
    /** Completed checkpoints kept (older ones are deleted). */
    retained: positiveInt.default(3),
  })
  .strict();

const channelSchema = z
  .object({
    /** Records in flight per channel before the producer waits. */
    capacity: positiveInt.default(4096),
    /** Optional bound on the estimated bytes in flight per channel. */
    maxBytes: positiveInt.optional(),
  })
  .strict();

const stateSchema = z
  .object({
    /**
     * Where keyed state lives while the job runs: `heap` (JS objects) or `lmdb` (on local disk in
     * an LMDB environment per operator subtask under `dir`, for state larger than memory).
     */
    backend: z.enum(['heap', 'lmdb']).default('heap'),
    /**
     * Local working directory of a disk backend (default `<os temp dir>/tributary-state`). Not
     * durable storage: checkpoints keep the state (as pieces under `checkpoint.dir`).
     */
    dir: z.string().min(1).optional(),
    /** Disk backend: changed entries collected in memory and then written in one batch. */
    writeBatchEntries: z.number().int().min(1).max(10_000_000).default(65_536),
    /**
     * Disk backend: the most recently written entries kept in memory per state table and written
     * to disk only when they leave (a write-back cache: keys updated often never reach the disk).
     */
    writeCacheEntries: z.number().int().min(0).max(100_000_000).default(262_144),
    /** Disk backend: entries already written kept in memory as a read cache (about). */
    cacheEntries: z.number().int().min(0).max(100_000_000).default(262_144),
    /**
     * `incremental`: a checkpoint writes only the keys changed since the previous one, off the
     * task's hot path, as pieces under `checkpoint.dir` (without a dir: `full`); `full`: every
     * checkpoint holds all keyed state inline.
     */
    snapshots: z.enum(['full', 'incremental']).default('incremental'),
    /** A key group's chain of pieces is rewritten as one full piece after about this many. */
    consolidateEvery: z.number().int().min(1).max(1000).default(8),
  })
  .strict();

export const jobOptionsSchema = z
  .object({
    parallelism: positiveInt.max(1024).default(1),
    /** Number of key groups: the upper bound of keyed parallelism, fixed for a job's lifetime. */
    maxParallelism: positiveInt.max(32_768).default(128),
    checkpoint: checkpointSchema.default(() => checkpointSchema.parse({})),
    restart: restartStrategySchema.default({ type: 'fixed-delay', maxAttempts: 3, delayMs: 1000 }),
    channel: channelSchema.default(() => channelSchema.parse({})),
    /** Keyed state: backend and how it is checkpointed. */
    state: stateSchema.default(() => stateSchema.parse({})),
    /**
     * Pravega connection for the Pravega source and sink (`'embedded:./data'`,
     * `'tcp://controller:9090'`, or a client config object); validated by the connectors.
     */
    pravega: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    /**
     * One running copy per job: the lease a running job holds on its name (in a Pravega table
     * segment of its first stream's scope, else `job.lock` in the checkpoint directory), renewed
     * every third of `leaseMs`. A copy that died without releasing it blocks a new start on
     * another host for at most `leaseMs` (on its own host, not at all).
     */
    jobLock: z
      .object({ leaseMs: z.number().int().min(1_000).max(600_000).default(15_000) })
      .strict()
      .default({ leaseMs: 15_000 }),
    /** How often a `metrics` event is emitted (0 = only at the end). */
    metricsIntervalMs: nonNegativeInt.default(1000),
  })
  .strict();

/** Job options as the user writes them (defaults omitted). */
export type JobOptionsInput = z.input<typeof jobOptionsSchema>;
/** Job options after validation, defaults filled in. */
export type JobOptions = z.output<typeof jobOptionsSchema>;
export type RestartStrategyOptions = JobOptions['restart'];

/**
 * Validates job options. Other layers may extend `jobOptionsSchema` (it is a plain strict zod
 * object) and parse with `parseConfig`; the cross-field checks live here.
 */
export function parseJobOptions(input: unknown): JobOptions {
  const options = parseConfig(jobOptionsSchema, input ?? {}, 'job options');
  if (options.parallelism > options.maxParallelism) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `invalid job options: parallelism: must not exceed maxParallelism (${options.maxParallelism})`,
      { details: { issues: [{ key: 'parallelism', reason: 'must not exceed maxParallelism' }] } },
    );
  }
  return options;
}

/** Delay before restart number `restart` (1-based), or undefined when no restart is left. */
export function restartDelay(
  strategy: RestartStrategyOptions,
  restart: number,
): number | undefined {
  switch (strategy.type) {
    case 'none':
      return undefined;
    case 'fixed-delay':
      return restart <= strategy.maxAttempts ? strategy.delayMs : undefined;
    case 'exponential-delay':
      if (restart > strategy.maxAttempts) return undefined;
      return Math.min(
        strategy.maxDelayMs,
        strategy.initialDelayMs * strategy.multiplier ** (restart - 1),
      );
  }
}
