import { TributaryError } from '../../errors.js';
import type { Controller } from '../controller/controller.js';
import type { StreamCutPositions, StreamId } from '../controller/types.js';
import { segmentName } from '../protocol/index.js';
import type { SegmentStore } from '../segment/segment-store.js';
import { SegmentReader } from './segment-reader.js';
import type { Serializer } from './serializer.js';

/**
 * Reads a whole stream with one reader, no reader group: every segment from the head (or a start
 * cut), successors only after all their predecessors were read to the end, so events of one
 * routing key come out in the order they were written. Good for tools, validators and tests.
 */

export interface ScannedEvent<T> {
  readonly value: T;
  readonly segment: string;
  readonly offset: number;
}

export class StreamScanner<T> {
  private readonly active = new Map<
    bigint,
    { reader: SegmentReader; pending: Promise<void> | undefined }
  >();
  /** successor id → predecessors not yet finished */
  private readonly waiting = new Map<bigint, Set<bigint>>();
  private readonly finished = new Set<bigint>();
  private readonly ready: ScannedEvent<T>[] = [];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor(
    private readonly controller: Controller,
    private readonly store: SegmentStore,
    readonly stream: StreamId,
    private readonly serializer: Serializer<T>,
  ) {}

  static async open<T>(
    controller: Controller,
    store: SegmentStore,
    stream: StreamId,
    serializer: Serializer<T>,
    from?: StreamCutPositions,
  ): Promise<StreamScanner<T>> {
    const scanner = new StreamScanner(controller, store, stream, serializer);
    const start = from && from.size > 0 ? from : await controller.getHeadSegments(stream);
    for (const [segmentId, offset] of start) scanner.startSegment(segmentId, offset);
    return scanner;
  }

  private startSegment(segmentId: bigint, offset: bigint): void {
    const reader = new SegmentReader(
      this.store,
      segmentName(this.stream.scope, this.stream.stream, segmentId),
      offset,
    );
    this.active.set(segmentId, { reader, pending: undefined });
  }

  /** Events that arrive within `waitMs` (at least one if any arrives in time); [] on a quiet stream. */
  async nextBatch(waitMs: number): Promise<ScannedEvent<T>[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.ready.length > 0) return this.ready.splice(0, this.ready.length);
      if (this.active.size === 0 && this.waiting.size === 0) return [];
      const left = deadline - Date.now();
      if (left <= 0) return [];
      for (const [segmentId, entry] of this.active) {
        entry.pending ??= this.pull(segmentId, entry.reader).finally(() => {
          entry.pending = undefined;
          this.wake?.();
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async pull(segmentId: bigint, reader: SegmentReader): Promise<void> {
    try {
      const batch = await reader.next();
      for (const e of batch.events) {
        this.ready.push({
          value: this.serializer.deserialize(e.data),
          segment: reader.segment,
          offset: e.offset,
        });
      }
      if (batch.end) await this.complete(segmentId, reader);
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new TributaryError('INTERNAL', String(err));
    }
  }

  private async complete(segmentId: bigint, reader: SegmentReader): Promise<void> {
    reader.close();
    this.active.delete(segmentId);
    this.finished.add(segmentId);
    const successors = await this.controller.getSuccessors({ ...this.stream, segmentId });
    for (const s of successors) {
      const id = s.segment.segment.segmentId;
      if (this.finished.has(id) || this.active.has(id)) continue;
      let left = this.waiting.get(id);
      if (!left) {
        left = new Set(s.predecessors);
        this.waiting.set(id, left);
      }
    }
    for (const [id, left] of this.waiting) {
      for (const p of [...left]) if (this.finished.has(p)) left.delete(p);
      if (left.size === 0) {
        this.waiting.delete(id);
        this.startSegment(id, 0n);
      }
    }
  }

  /** Reads until `count` events arrived or nothing came for `idleMs`. */
  async readUpTo(count: number, idleMs = 5_000): Promise<ScannedEvent<T>[]> {
    const out: ScannedEvent<T>[] = [];
    while (out.length < count) {
      const batch = await this.nextBatch(idleMs);
      if (batch.length === 0) break;
      out.push(...batch);
    }
    return out;
  }

  close(): void {
    for (const { reader } of this.active.values()) reader.close();
    this.active.clear();
    this.waiting.clear();
  }
}
