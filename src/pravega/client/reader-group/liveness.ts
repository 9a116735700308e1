/**
 * Failure detection without trusting clocks across machines. Every reader rewrites its own record
 * (`reader/<id>`) at least every heartbeat interval while it is being read from; each write gives
 * the record a new table version. An observer notes, with its own clock, when it first saw each
 * version; a reader whose version has not changed for `timeoutMs` of the observer's time is
 * considered dead. The observer then takes it offline in one conditional update that also requires
 * the record to still have the version it saw, so a reader that wrote a heartbeat meanwhile is
 * never removed.
 */
export class LivenessTracker {
  private readonly seen = new Map<string, { version: bigint | undefined; since: number }>();

  constructor(private readonly timeoutMs: number) {}

  /**
   * Records the versions observed now for the readers in `observed` (undefined: no record) and
   * forgets readers not listed.
   * @returns the readers silent for longer than the timeout, with the version to condition on
   */
  observe(
    observed: ReadonlyMap<string, bigint | undefined>,
    now: number,
  ): { reader: string; version: bigint | undefined }[] {
    for (const reader of [...this.seen.keys()]) if (!observed.has(reader)) this.seen.delete(reader);
    const dead: { reader: string; version: bigint | undefined }[] = [];
    for (const [reader, version] of observed) {
      const prior = this.seen.get(reader);
      if (prior === undefined || prior.version !== version) {
        this.seen.set(reader, { version, since: now });
        continue;
      }
      if (now - prior.since > this.timeoutMs) dead.push({ reader, version });
    }
    return dead;
  }
}
