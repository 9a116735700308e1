import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage, isRetryable } from '../../errors.js';
import { EVENT_HEADER_SIZE, newUuid } from '../protocol/index.js';
import type { AppendSession, SegmentStore } from '../segment/segment-store.js';
import type { Completion, PendingEvent } from './pending-event.js';

/**
 * Writes events to one segment with its own writer id and event numbers from 1, packing them into
 * blocks and keeping many blocks in flight. Acks are cumulative. After a dropped connection it
 * sets up again with the same writer id, drops what the store already holds (`lastEventNumber`)
 * and resends the rest with their original numbers: no loss, no duplicates. When the segment is
 * sealed (or gone) it hands every unacknowledged event back, in order, for re-routing.
 *
 * The bookkeeping is per block, not per event: an added event is framed at once into a slab (a
 * large buffer that blocks are cut from, back to back; never written twice), and its block keeps
 * only the event's routing-key hash and, run-length, the completions of its events. Events are
 * parsed back out of the framed bytes only when the segment is sealed or the writer fails.
 */

const EMPTY = Buffer.alloc(0);
/** the first slab of a writer; each next one doubles, up to maxBlockBytes (few events, little memory) */
const FIRST_SLAB_BYTES = 64 * 1024;

/** Events framed back to back in `data`, sent as one append. */
class Block {
  firstEventNumber = 0;
  lastEventNumber = 0;

  constructor(
    readonly data: Buffer,
    readonly count: number,
    /** payload bytes (framing excluded) */
    readonly payloadBytes: number,
    /** the routing-key hash of each event */
    readonly hashes: Float64Array,
    /** run-length: `counts[i]` consecutive events belong to `completions[i]` */
    readonly completions: Completion[],
    readonly counts: number[],
  ) {}

  ackAll(): void {
    const completions = this.completions;
    const counts = this.counts;
    for (let i = 0; i < completions.length; i++) completions[i]!.ack(counts[i]);
  }

  /** Acknowledges the first `done` events; returns the block of the others. */
  ackFirst(done: number): { rest: Block; releasedBytes: number } {
    let pos = 0;
    let payload = 0;
    for (let i = 0; i < done; i++) {
      const length = this.data.readInt32BE(pos + 4);
      payload += length;
      pos += EVENT_HEADER_SIZE + length;
    }
    const completions: Completion[] = [];
    const counts: number[] = [];
    let left = done;
    for (let i = 0; i < this.completions.length; i++) {
      const count = this.counts[i]!;
      const acked = Math.min(left, count);
      if (acked > 0) this.completions[i]!.ack(acked);
      left -= acked;
      if (count > acked) {
        completions.push(this.completions[i]!);
        counts.push(count - acked);
      }
    }
    const rest = new Block(
      this.data.subarray(pos),
      this.count - done,
      this.payloadBytes - payload,
      this.hashes.slice(done),
      completions,
      counts,
    );
    rest.firstEventNumber = this.firstEventNumber + done;
    rest.lastEventNumber = this.lastEventNumber;
    return { rest, releasedBytes: payload };
  }

  /** Its events, parsed back out of the framed bytes (views of them), in order. */
  eventsInto(out: PendingEvent[]): void {
    let pos = 0;
    let event = 0;
    for (let i = 0; i < this.completions.length; i++) {
      const completion = this.completions[i]!;
      for (let n = this.counts[i]!; n > 0; n--) {
        const length = this.data.readInt32BE(pos + 4);
        const start = pos + EVENT_HEADER_SIZE;
        out.push({
          routingHash: this.hashes[event++]!,
          data: this.data.subarray(start, start + length),
          completion,
        });
        pos = start + length;
      }
    }
  }
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
  /** blocks cut but not sent yet (no session, or before the next send) */
  private ready: Block[] = [];
  private inflight: Block[] = [];
  private sendScheduled = false;
  /** the buffer events are framed into; the open block is its bytes [openStart, slabUsed) */
  private slab: Buffer = EMPTY;
  private nextSlabBytes = FIRST_SLAB_BYTES;
  private slabUsed = 0;
  private openStart = 0;
  private openCount = 0;
  private openPayloadBytes = 0;
  /** routing-key hashes of the open block's events: the first `openCount` (reused across blocks) */
  private openHashes = new Float64Array(256);
  private openCompletions: Completion[] = [];
  private openCounts: number[] = [];

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
    let n = this.openCount;
    for (const b of this.ready) n += b.count;
    for (const b of this.inflight) n += b.count;
    return n;
  }

  /** Every event not yet acknowledged, oldest first (parsed back out of the blocks). */
  unacked(): PendingEvent[] {
    this.cutBlock();
    const out: PendingEvent[] = [];
    for (const b of this.inflight) b.eventsInto(out);
    for (const b of this.ready) b.eventsInto(out);
    return out;
  }

  /** Adds the promise of every completion with an event not yet acknowledged to `into`. */
  addCompletionsTo(into: Set<Promise<void>>): void {
    for (const b of this.inflight) for (const c of b.completions) into.add(c.promise);
    for (const b of this.ready) for (const c of b.completions) into.add(c.promise);
    for (const c of this.openCompletions) into.add(c.promise);
  }

  /**
   * Takes one event: frames `data` into the open block at once (its only copy). `routingHash` is
   * kept to re-route the event should the segment be sealed before it is acknowledged.
   */
  add(routingHash: number, data: Uint8Array, completion: Completion): void {
    if (this.state === 'sealed' || this.state === 'failed' || this.state === 'closed') {
      throw new TributaryError(
        'ILLEGAL_STATE',
        `segment writer for ${this.segment} is ${this.state}`,
      );
    }
    const length = data.length;
    const framed = EVENT_HEADER_SIZE + length;
    if (
      this.openCount > 0 &&
      this.slabUsed - this.openStart + framed > this.options.maxBlockBytes
    ) {
      this.cutBlock();
    }
    if (this.slabUsed + framed > this.slab.length) {
      this.cutBlock();
      const max = this.options.maxBlockBytes;
      this.slab = Buffer.allocUnsafe(Math.max(Math.min(this.nextSlabBytes, max), framed));
      this.nextSlabBytes = Math.min(this.nextSlabBytes * 2, max);
      this.slabUsed = 0;
      this.openStart = 0;
    }
    const slab = this.slab;
    const at = this.slabUsed;
    // [int32 0][int32 length][payload], big-endian
    slab[at] = 0;
    slab[at + 1] = 0;
    slab[at + 2] = 0;
    slab[at + 3] = 0;
    slab[at + 4] = length >>> 24;
    slab[at + 5] = (length >>> 16) & 0xff;
    slab[at + 6] = (length >>> 8) & 0xff;
    slab[at + 7] = length & 0xff;
    slab.set(data, at + EVENT_HEADER_SIZE);
    this.slabUsed = at + framed;
    const index = this.openCount++;
    this.openPayloadBytes += length;
    if (index === this.openHashes.length) {
      const grown = new Float64Array(index * 2);
      grown.set(this.openHashes);
      this.openHashes = grown;
    }
    this.openHashes[index] = routingHash;
    const last = this.openCompletions.length - 1;
    if (last >= 0 && this.openCompletions[last] === completion) this.openCounts[last]!++;
    else {
      this.openCompletions.push(completion);
      this.openCounts.push(1);
    }
    if (this.state === 'idle') {
      this.state = 'connecting';
      void this.connect(false);
    } else if (this.state === 'open') {
      this.scheduleSend();
    }
  }

  /** Ends the open block: it gets its event numbers and waits to be sent. */
  private cutBlock(): void {
    const count = this.openCount;
    if (count === 0) return;
    const block = new Block(
      this.slab.subarray(this.openStart, this.slabUsed),
      count,
      this.openPayloadBytes,
      this.openHashes.slice(0, count),
      this.openCompletions,
      this.openCounts,
    );
    block.firstEventNumber = this.nextEventNumber;
    block.lastEventNumber = this.nextEventNumber + count - 1;
    this.nextEventNumber += count;
    this.ready.push(block);
    this.openStart = this.slabUsed;
    this.openCount = 0;
    this.openPayloadBytes = 0;
    this.openCompletions = [];
    this.openCounts = [];
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
    this.cutBlock();
    const ready = this.ready;
    this.ready = [];
    for (const block of ready) {
      this.inflight.push(block);
      session.append(block.data, block.count, BigInt(block.lastEventNumber));
    }
  }

  private onAck(generation: number, eventNumber: bigint): void {
    if (generation !== this.generation) return;
    this.ackUpTo(Number(eventNumber));
  }

  private ackUpTo(eventNumber: number): void {
    let released = 0;
    const inflight = this.inflight;
    let done = 0;
    while (done < inflight.length) {
      const block = inflight[done]!;
      if (block.lastEventNumber <= eventNumber) {
        done++;
        released += block.payloadBytes;
        block.ackAll();
      } else {
        if (block.firstEventNumber <= eventNumber) {
          // acknowledged in part: only possible if a block was split differently before; keep the rest
          const { rest, releasedBytes } = block.ackFirst(eventNumber - block.firstEventNumber + 1);
          inflight[done] = rest;
          released += releasedBytes;
        }
        break;
      }
    }
    if (done > 0) inflight.splice(0, done);
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
          session.append(block.data, block.count, BigInt(block.lastEventNumber));
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
    const unacked = this.takeUnacked();
    this.owner.onSegmentSealed(this, unacked, cause);
  }

  private toFailed(error: TributaryError): void {
    this.state = 'failed';
    this.session?.close();
    this.session = undefined;
    const unacked = this.takeUnacked();
    let released = 0;
    for (const e of unacked) {
      released += e.data.length;
      e.completion.fail(error);
    }
    if (released > 0) this.owner.onBytesReleased(released);
    this.owner.onWriterFailed(this, error);
  }

  /** Every unacknowledged event, which this writer then forgets. */
  private takeUnacked(): PendingEvent[] {
    const unacked = this.unacked();
    this.inflight = [];
    this.ready = [];
    this.slab = EMPTY;
    this.slabUsed = 0;
    this.openStart = 0;
    return unacked;
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
