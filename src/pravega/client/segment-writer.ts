import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage, isRetryable } from '../../errors.js';
import { frameEvents, newUuid } from '../protocol/index.js';
import type { AppendSession, SegmentStore } from '../segment/segment-store.js';
import type { PendingEvent } from './pending-event.js';

/**
 * Writes events to one segment with its own writer id and event numbers from 1, packing them into
 * blocks and keeping many blocks in flight. Acks are cumulative. After a dropped connection it
 * sets up again with the same writer id, drops what the store already holds (`lastEventNumber`)
 * and resends the rest with their original numbers: no loss, no duplicates. When the segment is
 * sealed (or gone) it hands every unacknowledged event back, in order, for re-routing.
 */

interface Block {
  readonly events: PendingEvent[];
  readonly firstEventNumber: number;
  readonly lastEventNumber: number;
  readonly data: Buffer;
}

export interface SegmentWriterOwner {
  /** The segment is sealed or deleted; `unacked` must go to its successors, in this order. */
  onSegmentSealed(writer: SegmentWriter, unacked: PendingEvent[], cause: TributaryError): void;
  /** The writer failed for good; every event it held was failed with `error`. */
  onWriterFailed(writer: SegmentWriter, error: TributaryError): void;
  /** Bytes left the writer (acked or handed back). */
  onBytesReleased(bytes: number): void;
}

export interface SegmentWriterOptions {
  readonly maxBlockBytes: number;
  readonly maxReconnectAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

type State = 'idle' | 'connecting' | 'open' | 'sealed' | 'failed' | 'closed';

export class SegmentWriter {
  readonly writerId = newUuid();
  private state: State = 'idle';
  private session: AppendSession | undefined;
  private generation = 0;
  private nextEventNumber = 1;
  private pending: PendingEvent[] = [];
  private inflight: Block[] = [];
  private sendScheduled = false;

  constructor(
    readonly segment: string,
    private readonly store: SegmentStore,
    private readonly owner: SegmentWriterOwner,
    private readonly options: SegmentWriterOptions,
  ) {}

  /** False once sealed, failed or closed: events must go elsewhere. */
  get accepting(): boolean {
    return this.state === 'idle' || this.state === 'connecting' || this.state === 'open';
  }

  get unackedCount(): number {
    let n = this.pending.length;
    for (const b of this.inflight) n += b.events.length;
    return n;
  }

  /** Every event not yet acknowledged, oldest first. */
  unacked(): PendingEvent[] {
    const out: PendingEvent[] = [];
    for (const b of this.inflight) out.push(...b.events);
    out.push(...this.pending);
    return out;
  }

  add(event: PendingEvent): void {
    if (this.state === 'sealed' || this.state === 'failed' || this.state === 'closed') {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `segment writer for ${this.segment} is ${this.state}`,
      );
    }
    this.pending.push(event);
    if (this.state === 'idle') {
      this.state = 'connecting';
      void this.connect(false);
    } else if (this.state === 'open') {
      this.scheduleSend();
    }
  }

  private scheduleSend(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    setImmediate(() => {
      this.sendScheduled = false;
      this.sendPending();
    });
  }

  /** Sends what is pending now, without waiting for the next tick. */
  flushPending(): void {
    if (this.state === 'open') this.sendPending();
  }

  private sendPending(): void {
    const session = this.session;
    if (this.state !== 'open' || session === undefined) return;
    const max = this.options.maxBlockBytes;
    let start = 0;
    const pending = this.pending;
    this.pending = [];
    while (start < pending.length) {
      let end = start;
      let bytes = 0;
      while (
        end < pending.length &&
        (end === start || bytes + pending[end]!.data.length + 8 <= max)
      ) {
        bytes += pending[end]!.data.length + 8;
        end++;
      }
      const events = pending.slice(start, end);
      const block: Block = {
        events,
        firstEventNumber: this.nextEventNumber,
        lastEventNumber: this.nextEventNumber + events.length - 1,
        data: frameEvents(events.map((e) => e.data)),
      };
      this.nextEventNumber += events.length;
      this.inflight.push(block);
      session.append(block.data, events.length, BigInt(block.lastEventNumber));
      start = end;
    }
  }

  private onAck(generation: number, eventNumber: bigint): void {
    if (generation !== this.generation) return;
    this.ackUpTo(Number(eventNumber));
  }

  private ackUpTo(eventNumber: number): void {
    let released = 0;
    while (this.inflight.length > 0) {
      const block = this.inflight[0]!;
      if (block.lastEventNumber <= eventNumber) {
        this.inflight.shift();
        for (const e of block.events) {
          released += e.data.length;
          e.completion.ack();
        }
      } else {
        if (block.firstEventNumber <= eventNumber) {
          // acknowledged in part: only possible if a block was split differently before; keep the rest
          const done = eventNumber - block.firstEventNumber + 1;
          for (const e of block.events.slice(0, done)) {
            released += e.data.length;
            e.completion.ack();
          }
          const rest = block.events.slice(done);
          this.inflight[0] = {
            events: rest,
            firstEventNumber: eventNumber + 1,
            lastEventNumber: block.lastEventNumber,
            data: frameEvents(rest.map((e) => e.data)),
          };
        }
        break;
      }
    }
    if (released > 0) this.owner.onBytesReleased(released);
  }

  private onFailure(generation: number, error: Error): void {
    if (generation !== this.generation || this.state !== 'open') return;
    this.session = undefined;
    const typed = TributaryError.is(error)
      ? error
      : new TributaryError('CONNECTION_CLOSED', errorMessage(error), {
          retryable: true,
          cause: error,
        });
    if (isSealedError(typed)) {
      this.toSealed(typed);
    } else if (isRetryable(typed)) {
      this.state = 'connecting';
      void this.connect(true);
    } else {
      this.toFailed(typed);
    }
  }

  private async connect(afterFailure: boolean): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.options.maxReconnectAttempts; attempt++) {
      if (this.state !== 'connecting') return;
      if (attempt > 0 || afterFailure) {
        const ms = Math.min(
          this.options.maxBackoffMs,
          this.options.initialBackoffMs * 2 ** attempt,
        );
        await sleep(Math.round(ms * (0.8 + Math.random() * 0.4)));
        if (this.state !== 'connecting') return;
      }
      const generation = ++this.generation;
      try {
        const session = await this.store.openAppendSession(this.segment, this.writerId, {
          onAck: (eventNumber) => this.onAck(generation, eventNumber),
          onFailure: (err) => this.onFailure(generation, err),
        });
        if (this.state !== 'connecting' || generation !== this.generation) {
          session.close();
          return;
        }
        this.session = session;
        this.state = 'open';
        if (session.lastEventNumber !== undefined) this.ackUpTo(Number(session.lastEventNumber));
        for (const block of this.inflight) {
          session.append(block.data, block.events.length, BigInt(block.lastEventNumber));
        }
        this.sendPending();
        return;
      } catch (err) {
        lastError = err;
        if (TributaryError.is(err) && isSealedError(err)) {
          this.toSealed(err);
          return;
        }
        if (!isRetryable(err)) break;
      }
    }
    this.toFailed(
      new TributaryError(
        'CONNECTION_FAILED',
        `cannot write to segment ${this.segment}: ${errorMessage(lastError)}`,
        { cause: lastError, retryable: false },
      ),
    );
  }

  private toSealed(cause: TributaryError): void {
    this.state = 'sealed';
    this.session?.close();
    this.session = undefined;
    const unacked = this.unacked();
    this.inflight = [];
    this.pending = [];
    this.owner.onSegmentSealed(this, unacked, cause);
  }

  private toFailed(error: TributaryError): void {
    this.state = 'failed';
    this.session?.close();
    this.session = undefined;
    const unacked = this.unacked();
    this.inflight = [];
    this.pending = [];
    let released = 0;
    for (const e of unacked) {
      released += e.data.length;
      e.completion.fail(error);
    }
    if (released > 0) this.owner.onBytesReleased(released);
    this.owner.onWriterFailed(this, error);
  }

  close(): void {
    this.state = 'closed';
    this.generation++;
    this.session?.close();
    this.session = undefined;
  }
}

function isSealedError(err: TributaryError): boolean {
  return err.code === 'SEGMENT_SEALED' || err.code === 'NO_SUCH_SEGMENT';
}
