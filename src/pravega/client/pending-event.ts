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

  ack(): void {
    if (--this.remaining === 0) this.done();
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

/** An event on its way to a segment: kept until acknowledged, so it can be resent or re-routed. */
export interface PendingEvent {
  readonly routingKey: string | undefined;
  readonly data: Buffer;
  readonly completion: Completion;
}
