import { TributaryError } from '../../errors.js';
import type { SourceReaderContext } from '../source.js';

/**
 * What the Pravega source does when the data it is about to read was truncated away (by the
 * stream's retention policy, or a truncation at a stream cut) — typically a reader that lags
 * behind retention, or a job restored from an old checkpoint:
 * - `'skip'` (default, as the Flink connector): go on at the segment's new start; the gap is
 *   reported as a `warning` job event and counted (`truncations`, `truncatedBytesSkipped`);
 * - `'fail'`: fail the job, naming the segment and the lost range.
 */
export type TruncatedDataPolicy = 'skip' | 'fail';

export function handleTruncatedData(
  ctx: Pick<SourceReaderContext, 'count' | 'warn'>,
  policy: TruncatedDataPolicy,
  segment: string,
  from: bigint,
  to: bigint,
): void {
  const details = { segment, from: from.toString(), to: to.toString() };
  if (policy === 'fail') {
    throw new TributaryError(
      'SEGMENT_TRUNCATED',
      `the bytes [${from}, ${to}) of segment ${segment} were truncated away before this source read them (retention or a stream truncation); onTruncatedData('skip') would skip them with a warning`,
      { details },
    );
  }
  ctx.count('truncations', 1);
  ctx.count('truncatedBytesSkipped', Number(to - from));
  ctx.warn(
    `skipped ${to - from} bytes of segment ${segment} at [${from}, ${to}): truncated away before they were read`,
    details,
  );
}
