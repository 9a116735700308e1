import { TributaryError } from '../errors.js';
import type { TimeWindow } from './functions.js';

/** Assigns each event timestamp to the windows that contain it. */
export interface WindowAssigner {
  /** Window size; for merging (session) windows the gap, the size of a single record's window. */
  readonly sizeMs: number;
  assignWindows(timestamp: number): TimeWindow[];
  /**
   * Merging windows (sessions): per key, windows that overlap or touch are merged into one
   * covering window, and their accumulators with `AggregateFunction.merge`.
   */
  readonly merging?: boolean;
}

function checkPositive(what: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${what}: must be a positive integer (ms), got ${value}`,
    );
  }
}

function floorTo(timestamp: number, step: number, offset: number): number {
  return timestamp - ((((timestamp - offset) % step) + step) % step);
}

/** Fixed-size, non-overlapping event-time windows. */
export const TumblingEventTimeWindows = {
  of(sizeMs: number, offsetMs = 0): WindowAssigner {
    checkPositive('TumblingEventTimeWindows size', sizeMs);
    return {
      sizeMs,
      assignWindows(timestamp) {
        const start = floorTo(timestamp, sizeMs, offsetMs);
        return [{ start, end: start + sizeMs }];
      },
    };
  },
};

/** Fixed-size event-time windows that start every `slideMs` (an event is in size/slide windows). */
export const SlidingEventTimeWindows = {
  of(sizeMs: number, slideMs: number, offsetMs = 0): WindowAssigner {
    checkPositive('SlidingEventTimeWindows size', sizeMs);
    checkPositive('SlidingEventTimeWindows slide', slideMs);
    return {
      sizeMs,
      assignWindows(timestamp) {
        const windows: TimeWindow[] = [];
        for (
          let start = floorTo(timestamp, slideMs, offsetMs);
          start > timestamp - sizeMs;
          start -= slideMs
        ) {
          windows.push({ start, end: start + sizeMs });
        }
        return windows;
      },
    };
  },
};

/**
 * Event-time session windows: a record opens the window `[ts, ts + gap)`; per key, windows that
 * overlap or touch merge, so a session ends after `gap` ms without records of its key. Needs
 * `AggregateFunction.merge` when used with `aggregate` (reduce and process merge by themselves).
 */
export const EventTimeSessionWindows = {
  withGap(gapMs: number): WindowAssigner {
    checkPositive('EventTimeSessionWindows gap', gapMs);
    return {
      sizeMs: gapMs,
      merging: true,
      assignWindows: (timestamp) => [{ start: timestamp, end: timestamp + gapMs }],
    };
  },
};

/**
 * Names a side output of type T (Flink's `OutputTag`): an operator emits records to it, and
 * `stream.getSideOutput(tag)` reads them as a stream of their own.
 */
export class OutputTag<T> {
  /** @internal phantom: keeps T in the type */
  declare readonly __type?: T;

  constructor(readonly id: string) {
    if (typeof id !== 'string' || id.trim() === '') {
      throw new TributaryError('CONFIG_INVALID', 'OutputTag: id must be a non-empty string');
    }
  }
}
