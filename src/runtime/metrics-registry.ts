import type { OperatorMetrics, TaskMetrics } from './job-events.js';

interface Totals {
  recordsIn: number;
  recordsOut: number;
  counters: Record<string, number>;
}

/** Live counters of the running tasks plus the totals of finished attempts. */
export interface MetricsSource {
  operatorCounts(): Map<string, { recordsIn: number; recordsOut: number }>;
  taskMetrics(): TaskMetrics[];
}

/** Operator counters summed over subtasks, cumulative over every attempt of one execution. */
export class MetricsRegistry {
  private readonly base = new Map<string, Totals>();
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

  /** Folds the live counts into the totals (an attempt ended). */
  detach(): void {
    const live = this.live;
    this.live = undefined;
    if (live === undefined) return;
    for (const [uid, counts] of live.operatorCounts()) {
      const totals = this.totals(uid);
      totals.recordsIn += counts.recordsIn;
      totals.recordsOut += counts.recordsOut;
    }
  }

  snapshot(): { operators: OperatorMetrics[]; tasks: TaskMetrics[] } {
    const live =
      this.live?.operatorCounts() ?? new Map<string, { recordsIn: number; recordsOut: number }>();
    const operators: OperatorMetrics[] = [];
    for (const [uid, name] of this.names) {
      const base = this.base.get(uid);
      const now = live.get(uid);
      operators.push({
        uid,
        name,
        parallelism: this.parallelism.get(uid) ?? 1,
        recordsIn: (base?.recordsIn ?? 0) + (now?.recordsIn ?? 0),
        recordsOut: (base?.recordsOut ?? 0) + (now?.recordsOut ?? 0),
        counters: { ...(this.counters.get(uid) ?? {}) },
      });
    }
    return { operators, tasks: this.live?.taskMetrics() ?? [] };
  }

  private totals(uid: string): Totals {
    let totals = this.base.get(uid);
    if (totals === undefined)
      this.base.set(uid, (totals = { recordsIn: 0, recordsOut: 0, counters: {} }));
    return totals;
  }
}
