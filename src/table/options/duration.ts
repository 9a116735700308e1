/**
 * Durations in Flink's spelling (`TimeUtils.parseDuration`): a number and an optional unit, with
 * or without a space between them — `500 ms`, `30 s`, `30s`, `1 min`, `2h`, `1 d`, `1000` (no
 * unit: milliseconds). Units as Flink accepts them (singular and plural, long and short forms).
 */

const UNIT_MS: Readonly<Record<string, number>> = (() => {
  const table: Record<string, number> = {};
  const add = (ms: number, ...names: string[]): void => {
    for (const n of names) table[n] = ms;
  };
  add(1e-6, 'ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds');
  add(1e-3, 'µs', 'us', 'micro', 'micros', 'microsecond', 'microseconds');
  add(1, 'ms', 'milli', 'millis', 'millisecond', 'milliseconds');
  add(1_000, 's', 'sec', 'secs', 'second', 'seconds');
  add(60_000, 'm', 'min', 'mins', 'minute', 'minutes');
  add(3_600_000, 'h', 'hour', 'hours');
  add(86_400_000, 'd', 'day', 'days');
  return table;
})();

/** The unit names accepted, for messages. */
export const DURATION_UNITS = 'ms, s, min, h, d (and their long forms)';

/**
 * Milliseconds of a Flink duration, or undefined when `text` is not one. Sub-millisecond units
 * are rounded up to whole milliseconds (the engine's resolution).
 */
export function parseFlinkDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([a-zA-Zµ]*)\s*$/.exec(text);
  if (m === null) return undefined;
  const amount = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1 : UNIT_MS[unit];
  if (factor === undefined || !Number.isSafeInteger(amount)) return undefined;
  const ms = Math.ceil(amount * factor);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
