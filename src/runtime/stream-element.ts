import type { KeyGroupControl } from './key-group-control.js';

/**
 * What travels between tasks. Records always travel as batches (parallel arrays of values and,
 * when known, event timestamps in ms; a missing timestamp inside an array is NaN). Batches are
 * immutable once emitted.
 */
export type StreamElement =
  | RecordBatch
  | { readonly kind: 'watermark'; readonly timestamp: number }
  | { readonly kind: 'idle'; readonly idle: boolean }
  | { readonly kind: 'barrier'; readonly checkpointId: number }
  | { readonly kind: 'key-groups'; readonly control: KeyGroupControl }
  | { readonly kind: 'end' };

export interface RecordBatch {
  readonly kind: 'records';
  readonly values: readonly unknown[];
  readonly timestamps: readonly number[] | undefined;
}

/** The watermark that closes event time (emitted when an input ends). */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;

export function recordBatch(
  values: readonly unknown[],
  timestamps: readonly number[] | undefined,
): RecordBatch {
  return { kind: 'records', values, timestamps };
}
