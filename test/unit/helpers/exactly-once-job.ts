import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import type { JobEvent } from '../../../src/runtime/job-events.js';
import type { JobOptionsInput } from '../../../src/runtime/job-options.js';
import { FileSink } from '../../../src/sink/file/file-sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';

export interface Output {
  readonly v: number;
  readonly key: number;
  readonly count: number;
}

export interface Failure {
  /** Fail once the map has seen this many records in the current attempt. */
  readonly afterRecords: number;
  /** …and at least this many checkpoints have completed in the whole execution. */
  readonly afterCheckpoints: number;
}

export const KEYS = 7;

/**
 * sequence source → map that throws per the failure plan → keyBy(v % 7) counting state → file
 * sink. Returns the handle and what happened.
 */
export function startExactlyOnceJob(args: {
  readonly records: number;
  readonly outDir: string;
  readonly failures: readonly Failure[];
  readonly options: JobOptionsInput;
  readonly ratePerSecond?: number;
  readonly restoreFrom?: string;
}) {
  const env = StreamEnvironment.create(args.options);
  const pending = [...args.failures];
  let completed = 0;
  let seenInAttempt = 0;
  let attempt = -1;
  const events: JobEvent[] = [];
  env
    .fromSource(
      SequenceSource.bounded(0, args.records, {
        batchSize: 100,
        ...(args.ratePerSecond === undefined ? {} : { ratePerSecond: args.ratePerSecond }),
      }),
      { name: 'numbers', uid: 'numbers' },
    )
    .map(
      (v) => {
        seenInAttempt++;
        const next = pending[0];
        if (
          next !== undefined &&
          seenInAttempt >= next.afterRecords &&
          completed >= next.afterCheckpoints
        ) {
          pending.shift();
          throw new Error(`intentional failure after ${seenInAttempt} records`);
        }
        return v;
      },
      { name: 'failing-map', uid: 'failing-map' },
    )
    .keyBy((v) => v % KEYS)
    .process<Output>(
      (v, ctx, out) => {
        const count = ctx.valueState<number>('count');
        const next = (count.value() ?? 0) + 1;
        count.update(next);
        out.collect({ v, key: ctx.key, count: next });
      },
      { name: 'count', uid: 'count' },
    )
    .sinkTo(FileSink.jsonLines<Output>(args.outDir), { name: 'files', uid: 'files' });
  const handle = env.execute(
    'exactly-once',
    args.restoreFrom === undefined ? {} : { restoreFrom: args.restoreFrom },
  );
  handle.events$.subscribe((event) => {
    events.push(event);
    if (event.type === 'checkpoint-completed') completed++;
    if (event.type === 'status' && event.status === 'running' && event.attempt !== attempt) {
      attempt = event.attempt;
      seenInAttempt = 0;
    }
  });
  return { handle, events, remainingFailures: () => pending.length };
}

/** Checks the committed output: every value once, per-key counts 1..m each once. */
export function verifyExactlyOnce(records: readonly Output[], total: number): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const r of records) seen.set(r.v, (seen.get(r.v) ?? 0) + 1);
  for (let v = 0; v < total; v++) {
    const n = seen.get(v) ?? 0;
    if (n !== 1) problems.push(`value ${v} seen ${n} times`);
    if (problems.length > 10) return problems;
  }
  if (records.length !== total) problems.push(`${records.length} records, expected ${total}`);
  const countsByKey = new Map<number, number[]>();
  for (const r of records) {
    if (r.key !== r.v % KEYS) problems.push(`record ${r.v} has key ${r.key}`);
    let counts = countsByKey.get(r.key);
    if (counts === undefined) countsByKey.set(r.key, (counts = []));
    counts.push(r.count);
  }
  for (const [key, counts] of countsByKey) {
    counts.sort((a, b) => a - b);
    const expected = Array.from({ length: Math.ceil((total - key) / KEYS) }, (_, i) => i + 1);
    if (JSON.stringify(counts) !== JSON.stringify(expected)) {
      problems.push(
        `key ${key}: counts are not exactly 1..${expected.length} (got ${counts.length} counts)`,
      );
    }
  }
  return problems;
}
