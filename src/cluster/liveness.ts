/**
 * Liveness without comparing clocks: a record is alive while its version keeps changing. An
 * observer notes, on its own monotonic clock, when it first saw each key's current version; a key
 * whose version has not moved for longer than the timeout belongs to a writer that stopped. No
 * wall-clock value written by one machine is ever compared with another machine's clock.
 */
export class VersionWatch {
  private readonly seen = new Map<string, { version: bigint; since: number }>();

  /** Records `version` of `key` seen at `now`; @returns for how long (ms) it has not changed. */
  observe(key: string, version: bigint, now: number): number {
    const last = this.seen.get(key);
    if (last === undefined || last.version !== version) {
      this.seen.set(key, { version, since: now });
      return 0;
    }
    return now - last.since;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  clear(): void {
    this.seen.clear();
  }
}

/** A monotonic millisecond clock (immune to wall-clock jumps). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

/** What the beat comparison reads of a member record. */
interface Beating {
  readonly workerId: string;
  readonly epoch: number;
  readonly beat: number;
}

/**
 * The members of `now` that beat since `before` was read (another epoch or beat than there, or
 * not there at all): running workers. The others stood still over the watch (killed, or gone).
 */
export function beatSince<M extends Beating>(before: Iterable<Beating>, now: readonly M[]): M[] {
  const seen = new Map<string, Beating>();
  for (const m of before) seen.set(m.workerId, m);
  return now.filter((m) => {
    const b = seen.get(m.workerId);
    return b === undefined || b.epoch !== m.epoch || b.beat !== m.beat;
  });
}
