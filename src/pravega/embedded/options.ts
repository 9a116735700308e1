import { z } from 'zod';
import { TributaryError } from '../../errors.js';

/** Options of {@link openEmbeddedPravega}; every field has a production default. */
const optionsSchema = z
  .object({
    /** fsync every group commit. Turning it off loses durability: for tests only. */
    fsync: z.boolean().default(true),
    /** a log file is rolled over (and a metadata snapshot written) past this size */
    maxLogFileBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(2 ** 31)
      .default(128 * 1024 * 1024),
    /** upper bound of one group commit (one write + one fsync) */
    maxBatchBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /**
     * an old log file whose live data is below this fraction of its size has that data moved to
     * the head of the log, so that the file can be deleted (0 turns compaction off)
     */
    compactLiveRatio: z.number().min(0).max(1).default(0.5),
    autoScale: z
      .object({
        /** how often segment rates are measured and scale decisions taken */
        checkIntervalMs: z.number().int().min(10).default(10_000),
        /** time constant of the moving average of a segment's rate */
        windowMs: z.number().int().min(10).default(120_000),
        /** a segment is neither split nor merged before it is this old */
        cooldownMs: z.number().int().min(0).default(600_000),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        /** how often retention policies are applied (Pravega: 30 minutes) */
        intervalMs: z
          .number()
          .int()
          .min(10)
          .default(30 * 60_000),
      })
      .strict()
      .prefault({}),
    transactions: z
      .object({
        minLeaseMs: z.number().int().min(1).default(10_000),
        maxLeaseMs: z.number().int().min(1).default(600_000),
        /** how often expired leases are looked for */
        checkIntervalMs: z.number().int().min(10).default(1_000),
        /** maximum execution time = min(factor × lease, maxExecutionMs) */
        maxExecutionMs: z
          .number()
          .int()
          .min(1)
          .default(24 * 3600_000),
      })
      .strict()
      .prefault({})
      .refine((t) => t.minLeaseMs <= t.maxLeaseMs, {
        message: 'minLeaseMs must not exceed maxLeaseMs',
        path: ['minLeaseMs'],
      }),
    /** receives recovery reports and warnings; default: nothing is printed */
    logger: z
      .custom<EmbeddedLogger>(
        (v) =>
          typeof v === 'object' && v !== null && typeof (v as EmbeddedLogger).warn === 'function',
        { message: 'expected an object with warn(message, details)' },
      )
      .optional(),
  })
  .strict();

export interface EmbeddedLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

export type EmbeddedOptionsInput = z.input<typeof optionsSchema>;
export type EmbeddedOptions = z.output<typeof optionsSchema>;

export function parseEmbeddedOptions(input: unknown): EmbeddedOptions {
  const result = optionsSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(options)';
    return `${key}: ${issue.message}`;
  });
  throw new TributaryError(
    'CONFIG_INVALID',
    `invalid embedded Pravega options: ${problems.join('; ')}`,
    { details: { issues: problems } },
  );
}
