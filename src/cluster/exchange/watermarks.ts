import { StreamOperator } from '../../runtime/operator.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../runtime/stream-element.js';
import type { Received } from './envelope.js';
import { SegmentSenders } from './segment-senders.js';

/**
 * Watermarks across an exchange edge, so that event time after it is what it would be after a
 * local `keyBy`: the receiving side's watermark is the minimum over its senders' watermarks, as
 * of the data it has read.
 *
 * Sending side: {@link SenderWatermarks} (chained in front of the exchange sink) hands the
 * watermark and idleness it receives to the sink as a {@link SenderWatermark} marker; the sink
 * writes a report of them ({@link SenderReports}: the latest watermark, idle only if idle since the
 * last committed report) into every segment of each transaction, after its records.
 *
 * Receiving side: {@link ReceiverWatermarks} unwraps the records and keeps, per segment, each
 * sender's latest watermark ({@link SegmentSenders}: across workers, the senders of the newest
 * checkpoint heard of); its watermark is the minimum over the segments its reader owns (a
 * segment not yet heard from by every sender holds it back), over their non-idle senders. A reader
 * that owns no segment marks its output idle, so keyed operators after it do not wait for it.
 * Records reach the receiver per committed transaction, so its watermark advances per checkpoint.
 */
export class SenderWatermark {
  constructor(
    readonly watermark: number,
    readonly idle: boolean,
  ) {}
}

/** What a sender puts into one transaction: see {@link SenderReports}. */
export interface SenderReport {
  readonly watermark: number;
  readonly idle: boolean;
  /** how much activity the report covers (for {@link SenderReports.sent}) */
  readonly activity: number;
}

/**
 * The watermark a sender reports in each transaction: its latest one, **idle only if it was idle
 * all the time since its last committed report**. A sampled "idle" would hide a watermark: a
 * source that takes input over with a backlog can read it all, reach its watermark and go idle
 * between two checkpoints (one aborted by the takeover); its next report, idle, is left out by the
 * receivers, and no report ever carries the watermark its records reached — windows would wait
 * for it for good. So a sender active since its last committed report reports itself active in
 * every transaction until a checkpoint that carried such a report completes (completing N commits
 * every transaction up to N, those of aborted checkpoints included).
 */
export class SenderReports {
  private latest: SenderWatermark | undefined;
  /** how many non-idle watermarks were noted */
  private activity = 0;
  /** the activity covered by a committed report */
  private reported = 0;
  /** checkpoint → the activity its report covered (its transaction not committed yet) */
  private readonly sentAt = new Map<number, number>();

  note(watermark: SenderWatermark): void {
    this.latest = watermark;
    if (!watermark.idle) this.activity++;
  }

  /** The report for the next transaction; undefined before the first watermark. */
  current(): SenderReport | undefined {
    const latest = this.latest;
    if (latest === undefined) return undefined;
    return {
      watermark: latest.watermark,
      idle: latest.idle && this.activity === this.reported,
      activity: this.activity,
    };
  }

  /** `report` went into checkpoint `checkpointId`'s transaction. */
  sent(checkpointId: number, report: SenderReport): void {
    this.sentAt.set(checkpointId, report.activity);
  }

  /** Checkpoint `checkpointId` completed: its transaction and every earlier one are committed. */
  committed(checkpointId: number): void {
    for (const [id, activity] of this.sentAt) {
      if (id > checkpointId) continue;
      this.reported = Math.max(this.reported, activity);
      this.sentAt.delete(id);
    }
  }
}

export class SenderWatermarks extends StreamOperator {
  private watermark = MIN_WATERMARK;
  private idle = false;

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    this.output.emitBatch(values, timestamps);
  }

  override processWatermark(timestamp: number): void {
    this.watermark = timestamp;
    this.output.emitBatch([new SenderWatermark(this.watermark, this.idle)], undefined);
  }

  override processIdle(idle: boolean): void {
    this.idle = idle;
    this.output.emitBatch([new SenderWatermark(this.watermark, this.idle)], undefined);
  }
}

export class ReceiverWatermarks<T> extends StreamOperator {
  private readonly segments = new Map<string, SegmentSenders>();

  /**
   * `edgeSegments`: the edge's S. With no more receivers than segments every reader gets a segment
   * once the group is balanced, so a reader that owns none yet holds the watermark back rather than
   * going idle (going idle, then active behind the others, would make its records late).
   */
  constructor(private readonly edgeSegments: number) {
    super();
  }

  private owned: readonly string[] | undefined;
  private adopting = false;
  private emitted = MIN_WATERMARK;
  private idle = false;

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    const out: T[] = [];
    const outTs: number[] | undefined = timestamps === undefined ? undefined : [];
    let changed = false;
    for (let i = 0; i < values.length; i++) {
      const item = values[i] as Received<T>;
      if (item.kind === 'record') {
        out.push(item.value);
        outTs?.push(timestamps![i]!);
      } else if (item.kind === 'watermark') {
        let entry = this.segments.get(item.segment);
        if (entry === undefined) this.segments.set(item.segment, (entry = new SegmentSenders()));
        entry.heard(item);
        changed = true;
      } else {
        this.owned = item.segments;
        this.adopting = item.adopting === true;
        changed = true;
      }
    }
    if (out.length > 0) this.output.emitBatch(out, outTs);
    if (changed) this.advance();
  }

  private advance(): void {
    const owned = this.owned;
    if (owned === undefined || this.emitted === MAX_WATERMARK) return;
    if (owned.length === 0) {
      // across workers a reader may keep no segment for good (8 segments over 6 readers can
      // settle at 2,2,2,2,0,0), and a segment it takes over later comes with a floor for its key
      // groups: idle is safe; in one process every reader gets one while there are no more
      // readers than segments, and one that went idle would come back behind the others
      if (this.adopting || this.ctx.parallelism > this.edgeSegments) this.setIdle(true);
      return;
    }
    this.setIdle(false);
    let watermark = Number.POSITIVE_INFINITY;
    // at the frontier of all its segments: a sender's watermark read in one segment may be
    // ahead of its records still unread in another (segment-senders.ts)
    let frontier = Number.POSITIVE_INFINITY;
    for (const segment of owned) {
      const of = this.segments.get(segment)?.frontier();
      if (of === undefined) return;
      frontier = Math.min(frontier, of);
    }
    for (const segment of owned) {
      const of = this.segments.get(segment)!.watermark(frontier);
      if (of === undefined) return;
      if (of < watermark) watermark = of;
    }
    if (Number.isFinite(watermark) && watermark > this.emitted) {
      this.emitted = watermark;
      this.output.emitWatermark(watermark);
    }
  }

  private setIdle(idle: boolean): void {
    if (this.idle === idle) return;
    this.idle = idle;
    this.output.emitIdle(idle);
  }

  override processWatermark(timestamp: number): void {
    // the source's own watermarks do not apply; its end of input does
    if (timestamp === MAX_WATERMARK && this.emitted < MAX_WATERMARK) {
      this.setIdle(false);
      this.emitted = MAX_WATERMARK;
      this.output.emitWatermark(MAX_WATERMARK);
    }
  }

  override processIdle(): void {}
}
