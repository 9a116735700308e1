import { TributaryError } from '../errors.js';
import type { TimeWindow } from './functions.js';

/** Assigns each event timestamp to the windows that contain it. */
export interface WindowAssigner {
  readonly sizeMs: number;
  assignWindows(timestamp: number): TimeWindow[];
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
