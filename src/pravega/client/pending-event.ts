import type { TributaryError } from '../../errors.js';

/** Settles once every event it counts was acknowledged (or one failed). */
export class Completion {
  private remaining: number;
  private settled = false;
  readonly promise: Promise<void>;
  private resolveFn!: () => void;
  private rejectFn!: (err: Error) => void;

  constructor(count: number) {
    this.remaining = count;
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // a caller that does not await must not crash the process; the writer remembers failures
    this.promise.catch(() => undefined);
    if (count === 0) this.done();
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** `events` more of its events were acknowledged. */
  ack(events = 1): void {
    this.remaining -= events;
    if (this.remaining <= 0) this.done();
  }

  fail(error: TributaryError): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(error);
  }

  private done(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn();
  }
}

/**
 * An event handed back by a segment writer (its segment was sealed, or it failed), to be re-routed
 * or failed. Segment writers keep no such object per event while all goes well: only their blocks.
 */
export interface PendingEvent {
  /** the routing-key hash in [0, 1) that picked its segment: its successor is picked the same way */
  readonly routingHash: number;
  readonly data: Buffer;
  readonly completion: Completion;
}
