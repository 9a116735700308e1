import { StreamEnvironment, type ExecuteOptions } from '../../../src/runtime/stream-environment.js';
import type { JobEvent } from '../../../src/runtime/job-events.js';
import type { JobOptionsInput } from '../../../src/runtime/job-options.js';
import { FileSink } from '../../../src/sink/file/file-sink.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { gatedSource, type Gate } from '../../support/gated-source.js';

export interface Output {
  readonly v: number;
  readonly key: number;
  readonly count: number;
}

/**
 * One planned failure of the map. The source pauses once `atRead` records were read (in the whole
 * execution, replays included) until `afterCheckpoints` checkpoints completed and the failures
 * planned before this one happened; the map then fails on the next record it sees. So the failure
 * comes after those checkpoints however slow or fast the machine is, and the input cannot run out
 * before it (every `atRead` must be below the number of records).
 */
export interface Failure {
  readonly atRead: number;
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
  /** More execute options (startFrom, allowDuplicates, …). */
  readonly execute?: ExecuteOptions;
  /** default `exactly-once` */
  readonly jobName?: string;
  /** More pauses of the source, e.g. to hold it until the test has done something. */
  readonly gates?: readonly Gate[];
}) {
  const env = StreamEnvironment.create(args.options);
  const failures = args.failures;
  let fired = 0;
  let armed = 0; // failures whose gate opened
  let completed = 0;
  const events: JobEvent[] = [];
  const gates: Gate[] = failures.map((failure, index) => ({
    name: `failure ${index + 1}`,
    afterRecords: failure.atRead,
    until: () => {
      const open = fired >= index && completed >= failure.afterCheckpoints;
      if (open) armed = Math.max(armed, index + 1);
      return open;
    },
  }));
  env
    .fromSource(
      gatedSource(
        SequenceSource.bounded(0, args.records, {
          batchSize: 100,
          ...(args.ratePerSecond === undefined ? {} : { ratePerSecond: args.ratePerSecond }),
        }),
        [...gates, ...(args.gates ?? [])],
      ),
      { name: 'numbers', uid: 'numbers' },
    )
    .map(
      (v) => {
        if (fired < armed) {
          fired++;
          throw new Error(`intentional failure ${fired} (${completed} checkpoints completed)`);
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
  const handle = env.execute(args.jobName ?? 'exactly-once', {
    ...(args.restoreFrom === undefined ? {} : { restoreFrom: args.restoreFrom }),
    ...args.execute,
  });
  handle.events$.subscribe((event) => {
    events.push(event);
    if (event.type === 'checkpoint-completed') completed++;
  });
  return {
    handle,
    events,
    remainingFailures: () => failures.length - fired,
    checkpoints: () => completed,
  };
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
