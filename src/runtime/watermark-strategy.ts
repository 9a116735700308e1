import { TributaryError } from '../errors.js';

export type TimestampAssigner<T> = (record: T, sourceTimestamp: number | undefined) => number;

/**
 * How event timestamps are assigned and watermarks generated, per subtask of a source
 * (`fromSource(…, { watermarkStrategy })`) or of `assignTimestampsAndWatermarks(strategy)`
 * anywhere in a pipeline: watermark = highest timestamp seen − out-of-orderness − 1, emitted as it
 * advances. With `withIdleness`, a subtask that produced nothing for that long is marked idle, so
 * downstream watermarks (the minimum over active inputs) ignore it until it produces again; its
 * watermark never goes back.
 */
export class WatermarkStrategy<T> {
  private constructor(
    /** undefined: no watermarks (timestamps may still be assigned). */
    readonly outOfOrdernessMs: number | undefined,
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    readonly idleTimeoutMs: number | undefined,
  ) {}

  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `watermark strategy: maxOutOfOrdernessMs must be a finite number ≥ 0, got ${maxOutOfOrdernessMs}`,
      );
    }
    return new WatermarkStrategy<T>(maxOutOfOrdernessMs, undefined, undefined);
  }

  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(0, undefined, undefined);
  }

  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(undefined, undefined, undefined);
  }

  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, assigner, this.idleTimeoutMs);
  }

  withIdleness(idleTimeoutMs: number): WatermarkStrategy<T> {
    if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs <= 0) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `watermark strategy: idleTimeoutMs must be a positive integer, got ${idleTimeoutMs}`,
      );
    }
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, this.timestampAssigner, idleTimeoutMs);
  }
}
