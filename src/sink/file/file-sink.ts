import { z } from 'zod';
import { parseConfig } from '../../config.js';
import type { Sink, SinkWriter, SinkWriterContext } from '../sink.js';
import { FileSinkWriter } from './file-sink-writer.js';

const optionsSchema = z
  .object({
    /** Committed files are `<prefix>-<subtask>-<run>-<attempt>-<seq><suffix>`. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
      .default('part'),
    suffix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/, 'letters, digits, _, - and . only')
      .default('.jsonl'),
    /** Buffered bytes before a write to the in-progress file. */
    writeBufferBytes: z
      .number()
      .int()
      .positive()
      .default(1 << 20),
    /** Warn when a transaction is committed later than 80 % of this. */
    transactionTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export type FileSinkOptions = z.input<typeof optionsSchema>;
export type FileSinkSettings = z.output<typeof optionsSchema>;

/**
 * Exactly-once files: each subtask writes one in-progress file per checkpoint interval
 * (hidden, `.…inprogress`); pre-commit = flush + fsync; commit (once the checkpoint is durable)
 * = atomic rename to the visible name + directory fsync; abort deletes. Recovery re-commits
 * idempotently (already renamed = done; neither file present = DATA_LOSS). Readers of the
 * directory should ignore dot-files. One job per directory.
 */
export class FileSink<T> implements Sink<T> {
  private readonly settings: FileSinkSettings;

  private constructor(
    readonly dir: string,
    private readonly encode: (record: T) => string,
    options: FileSinkOptions,
  ) {
    parseConfig(z.string().min(1), dir, 'file sink directory');
    this.settings = parseConfig(optionsSchema, options, 'file sink options');
  }

  /** One JSON document per line (`JSON.stringify`; bigint values need a custom encoder). */
  static jsonLines<T>(dir: string, options: FileSinkOptions = {}): FileSink<T> {
    return new FileSink<T>(dir, (record) => JSON.stringify(record), options);
  }

  /** One line per record, as the encoder renders it (it must not contain newlines). */
  static lines<T>(
    dir: string,
    encode: (record: T) => string,
    options: FileSinkOptions = {},
  ): FileSink<T> {
    return new FileSink<T>(dir, encode, options);
  }

  createWriter(ctx: SinkWriterContext): SinkWriter<T> {
    return new FileSinkWriter<T>(ctx, this.dir, this.encode, this.settings);
  }
}
