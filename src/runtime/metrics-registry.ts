import type { OperatorMetrics, SubtaskMetrics, TaskMetrics } from './job-events.js';

export interface OperatorCounts {
  readonly recordsIn: number;
  readonly recordsOut: number;
}

/** `uid#subtask` → counts. */
export type SubtaskCounts = ReadonlyMap<string, OperatorCounts>;

/** Live counters of the running tasks of one attempt. */
export interface MetricsSource {
  /** Counts of every operator subtask of this attempt so far. */
  subtaskCounts(): SubtaskCounts;
  /** Counts of every operator subtask at its barrier for checkpoint N; undefined if unknown. */
  countsAtCheckpoint(checkpointId: number): SubtaskCounts | undefined;
  taskMetrics(): TaskMetrics[];
}

export function subtaskKey(uid: string, subtask: number): string {
  return `${uid}#${subtask}`;
}

interface Totals {
  recordsIn: number;
  recordsOut: number;
}

const ZERO: OperatorCounts = { recordsIn: 0, recordsOut: 0 };

/**
 * Operator counters per subtask, cumulative over every attempt of one execution, with replays
 * counted apart.
 *
 * The *lineage* count of a subtask is what the surviving history of the job has processed: it
 * grows while an attempt runs and falls back, on a restart from checkpoint N, to its value at
 * barrier N (to 0 without a checkpoint). Reported `recordsIn`/`recordsOut` are the high-water
 * mark of the lineage count, so a record processed again after a restart is not counted twice;
 * everything processed beyond that mark is counted as replayed. (Exact when the replay repeats
 * the same records in the same subtasks, as Pravega sources with hash or forward edges do.)
 */
export class MetricsRegistry {
  /** Lineage count at the start of the current attempt. */
  private lineageBase = new Map<string, OperatorCounts>();
  /** Highest lineage count reached by finished attempts. */
  private readonly highWater = new Map<string, Totals>();
  /** Everything processed by finished attempts. */
  private readonly processed = new Map<string, Totals>();
  /** Lineage count at the latest completed checkpoint. */
  private committed: { id: number; counts: Map<string, OperatorCounts> } | undefined;
  private readonly counters = new Map<string, Record<string, number>>();
  private live: MetricsSource | undefined;

  constructor(
    private readonly names: ReadonlyMap<string, string>,
    private readonly parallelism: ReadonlyMap<string, number>,
  ) {}

  count(uid: string, metric: string, delta: number): void {
    let c = this.counters.get(uid);
    if (c === undefined) this.counters.set(uid, (c = {}));
    c[metric] = (c[metric] ?? 0) + delta;
  }

  attach(source: MetricsSource): void {
    this.live = source;
  }

  /** Checkpoint N completed in the attached attempt: remember the lineage counts at its barriers. */
  checkpointCompleted(checkpointId: number): void {
    const atBarrier = this.live?.countsAtCheckpoint(checkpointId);
    if (atBarrier === undefined) return;
    const counts = new Map<string, OperatorCounts>();
    for (const key of new Set([...this.lineageBase.keys(), ...atBarrier.keys()])) {
      counts.set(key, add(this.lineageBase.get(key), atBarrier.get(key)));
    }
    this.committed = { id: checkpointId, counts };
  }

  /**
   * The attached attempt ended. `resumeFrom` is the checkpoint the next attempt starts from
   * (undefined: from the beginning); omit it when no attempt follows.
   */
  detach(resumeFrom?: number): void {
    const live = this.live;
    this.live = undefined;
    if (live === undefined) return;
    for (const [key, counts] of live.subtaskCounts()) {
      accumulate(this.processed, key, counts);
      const lineage = add(this.lineageBase.get(key), counts);
      const hw = this.highWater.get(key) ?? { recordsIn: 0, recordsOut: 0 };
      hw.recordsIn = Math.max(hw.recordsIn, lineage.recordsIn);
      hw.recordsOut = Math.max(hw.recordsOut, lineage.recordsOut);
      this.highWater.set(key, hw);
    }
    const committed = this.committed;
    this.lineageBase =
      resumeFrom !== undefined && committed?.id === resumeFrom
        ? new Map(committed.counts)
        : new Map<string, OperatorCounts>(); // from the beginning, or from a checkpoint of an earlier process
  }

  snapshot(): { operators: OperatorMetrics[]; tasks: TaskMetrics[] } {
    const live = this.live?.subtaskCounts() ?? new Map<string, OperatorCounts>();
    const operators: OperatorMetrics[] = [];
    for (const [uid, name] of this.names) {
      const parallelism = this.parallelism.get(uid) ?? 1;
      const subtasks: SubtaskMetrics[] = [];
      for (let subtask = 0; subtask < parallelism; subtask++) {
        const key = subtaskKey(uid, subtask);
        const now = live.get(key) ?? ZERO;
        const lineage = add(this.lineageBase.get(key), now);
        const hw = this.highWater.get(key) ?? ZERO;
        const processed = add(this.processed.get(key), now);
        const recordsIn = Math.max(hw.recordsIn, lineage.recordsIn);
        const recordsOut = Math.max(hw.recordsOut, lineage.recordsOut);
        subtasks.push({
          subtask,
          recordsIn,
          recordsOut,
          recordsInReplayed: processed.recordsIn - recordsIn,
          recordsOutReplayed: processed.recordsOut - recordsOut,
        });
      }
      const sum = (f: (s: SubtaskMetrics) => number): number =>
        subtasks.reduce((a, s) => a + f(s), 0);
      operators.push({
        uid,
        name,
        parallelism,
        recordsIn: sum((s) => s.recordsIn),
        recordsOut: sum((s) => s.recordsOut),
        recordsInReplayed: sum((s) => s.recordsInReplayed),
        recordsOutReplayed: sum((s) => s.recordsOutReplayed),
        subtasks,
        counters: { ...(this.counters.get(uid) ?? {}) },
      });
    }
    return { operators, tasks: this.live?.taskMetrics() ?? [] };
  }
}

function add(a: OperatorCounts | undefined, b: OperatorCounts | undefined): Totals {
  return {
    recordsIn: (a?.recordsIn ?? 0) + (b?.recordsIn ?? 0),
    recordsOut: (a?.recordsOut ?? 0) + (b?.recordsOut ?? 0),
  };
}

function accumulate(map: Map<string, Totals>, key: string, counts: OperatorCounts): void {
  const t = map.get(key) ?? { recordsIn: 0, recordsOut: 0 };
  t.recordsIn += counts.recordsIn;
  t.recordsOut += counts.recordsOut;
  map.set(key, t);
}
