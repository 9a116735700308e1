import { describe, expect, it } from 'vitest';
import {
  decodeReceived,
  encodeClusterWatermark,
  encodeRecord,
  encodeWatermark,
  incarnationId,
  type Received,
} from '../../../../src/cluster/exchange/envelope.js';
import {
  ReceiverWatermarks,
  SenderReports,
  SenderWatermark,
  SenderWatermarks,
} from '../../../../src/cluster/exchange/watermarks.js';
import type { OperatorContext, Output } from '../../../../src/runtime/operator.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../../../src/runtime/stream-element.js';

class Recorder implements Output {
  readonly records: unknown[] = [];
  readonly timestamps: (number | undefined)[] = [];
  readonly watermarks: number[] = [];
  readonly idle: boolean[] = [];
  emitBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    values.forEach((v, i) => {
      this.records.push(v);
      this.timestamps.push(timestamps?.[i]);
    });
  }
  emitWatermark(timestamp: number): void {
    this.watermarks.push(timestamp);
  }
  emitIdle(idle: boolean): void {
    this.idle.push(idle);
  }
  emitKeyGroupControl(): void {}
}

const wm = (
  segment: string,
  sender: number,
  watermark: number,
  idle = false,
): Received<string> => ({
  kind: 'watermark',
  segment,
  sender: String(sender),
  live: 'n=2',
  checkpoint: 0,
  watermark,
  idle,
});
const record = (value: string, timestamp: number): Received<string> => ({
  kind: 'record',
  value,
  timestamp,
});
const owned = (...segments: string[]): Received<string> => ({ kind: 'owned', segments });

function receiver(
  parallelism = 4,
  segments = 3,
): { op: ReceiverWatermarks<string>; out: Recorder } {
  const op = new ReceiverWatermarks<string>(segments);
  const out = new Recorder();
  op.setup({ parallelism } as OperatorContext, out);
  return { op, out };
}

function feed(op: ReceiverWatermarks<string>, items: Received<string>[]): void {
  op.processBatch(
    items,
    items.map((i) => (i.kind === 'record' ? (i.timestamp ?? 0) : 0)),
  );
}

describe('exchange events', () => {
  it('round-trip records (with and without a timestamp) and watermarks; refuse garbage', () => {
    const parse = (b: Buffer) => b.toString('utf8');
    expect(decodeReceived(encodeRecord(Buffer.from('hi'), 42), 's/x/0', parse)).toEqual(
      record('hi', 42),
    );
    expect(decodeReceived(encodeRecord(Buffer.from(''), undefined), 's/x/0', parse)).toEqual({
      kind: 'record',
      value: '',
      timestamp: undefined,
    });
    expect(decodeReceived(encodeWatermark(-5, 1, 2, true), 'a', parse)).toEqual(
      wm('a', 1, -5, true),
    );
    for (const bad of [Buffer.alloc(0), Buffer.from([9, 1, 2]), Buffer.from([2, 0])])
      expect(() => decodeReceived(bad, 'seg', parse)).toThrow(/not an exchange event/);
  });

  it('round-trip a watermark across workers: its sender, checkpoint and the checkpoint senders, in one canonical order', () => {
    const parse = (b: Buffer) => b.toString('utf8');
    const a = incarnationId('host-a', 1);
    const b = incarnationId('host-b', 3);
    expect(a.length).toBe(8);
    expect(incarnationId('host-a', 2).equals(a)).toBe(false);
    const hex = (x: Buffer) => x.toString('hex');
    const sorted = [a, b]
      .sort((a, b) => Buffer.compare(a, b))
      .map(hex)
      .join(',');
    for (const participants of [
      [a, b],
      [b, a],
    ]) {
      const bytes = encodeClusterWatermark({
        watermark: 1234.5,
        idle: true,
        subtask: 2,
        parallelism: 3,
        checkpoint: 77,
        incarnation: b,
        participants,
      });
      expect(decodeReceived(bytes, 'seg', parse)).toEqual({
        kind: 'watermark',
        segment: 'seg',
        watermark: 1234.5,
        idle: true,
        sender: `${hex(b)}/2`,
        live: `p=3;${sorted}`,
        checkpoint: 77,
      });
      // a torn one is refused
      expect(() => decodeReceived(bytes.subarray(0, bytes.length - 1), 'seg', parse)).toThrow(
        /not an exchange event/,
      );
    }
  });
});

describe('exchange watermarks', () => {
  it('the sender passes records and turns watermarks and idleness into markers', () => {
    const op = new SenderWatermarks();
    const out = new Recorder();
    op.setup({} as OperatorContext, out);
    op.processBatch(['a'], [1]);
    op.processWatermark(10);
    op.processIdle(true);
    expect(out.records).toEqual([
      'a',
      new SenderWatermark(10, false),
      new SenderWatermark(10, true),
    ]);
    expect(out.watermarks).toEqual([]);
  });

  it('the receiver unwraps records and advances to the minimum over its owned segments and their senders', () => {
    const { op, out } = receiver();
    feed(op, [owned('A', 'B'), record('r1', 5), wm('A', 0, 100), wm('A', 1, 80)]);
    expect(out.records).toEqual(['r1']);
    expect(out.timestamps).toEqual([5]);
    // B not heard from by every sender: held back
    expect(out.watermarks).toEqual([]);
    feed(op, [wm('B', 0, 90)]);
    expect(out.watermarks).toEqual([]);
    feed(op, [wm('B', 1, 120)]);
    expect(out.watermarks).toEqual([80]);
    feed(op, [wm('A', 1, 95)]);
    expect(out.watermarks).toEqual([80, 90]);
    // an idle sender does not hold a segment back
    feed(op, [wm('B', 0, 90, true)]);
    expect(out.watermarks).toEqual([80, 90, 95]);
    // a segment handed to another reader no longer counts; the watermark never goes back
    feed(op, [owned('B'), wm('B', 1, 130)]);
    expect(out.watermarks).toEqual([80, 90, 95, 130]);
    feed(op, [owned('A', 'B')]);
    expect(out.watermarks).toEqual([80, 90, 95, 130]);
  });

  it('a reader without segments holds the watermark back while every reader can get one', () => {
    const { op, out } = receiver(2, 3);
    feed(op, [owned()]);
    expect(out.idle).toEqual([]);
    feed(op, [owned('A'), wm('A', 0, 1), wm('A', 1, 2)]);
    expect(out.watermarks).toEqual([1]);
  });

  it('across workers (segments adopted with a floor), a reader without segments marks its output idle even with fewer readers than segments', () => {
    const { op, out } = receiver(2, 8);
    feed(op, [{ kind: 'owned', segments: ['A'], adopting: true }, wm('A', 0, 5), wm('A', 1, 6)]);
    expect(out.watermarks).toEqual([5]);
    // its segment went to a reader of another worker (8 segments over 6 readers: 2,2,2,2,0,0)
    feed(op, [{ kind: 'owned', segments: [], adopting: true }]);
    expect(out.idle).toEqual([true]);
    feed(op, [{ kind: 'owned', segments: ['B'], adopting: true }, wm('B', 0, 9), wm('B', 1, 9)]);
    expect(out.idle).toEqual([true, false]);
    expect(out.watermarks).toEqual([5, 9]);
  });

  it('with more readers than segments, one without segments marks its output idle; the end of input passes', () => {
    const { op, out } = receiver(4, 3);
    feed(op, [owned()]);
    expect(out.idle).toEqual([true]);
    feed(op, [owned('A'), wm('A', 0, 1), wm('A', 1, 2)]);
    expect(out.idle).toEqual([true, false]);
    expect(out.watermarks).toEqual([1]);
    op.processWatermark(50); // the source's own watermarks do not apply
    op.processWatermark(MAX_WATERMARK);
    expect(out.watermarks).toEqual([1, MAX_WATERMARK]);
  });

  it('a change in the number of senders (rescaled upstream) starts a segment over', () => {
    const { op, out } = receiver();
    feed(op, [owned('A'), wm('A', 0, 10), wm('A', 1, 10)]);
    expect(out.watermarks).toEqual([10]);
    feed(op, [
      {
        kind: 'watermark',
        segment: 'A',
        sender: '0',
        live: 'n=3',
        checkpoint: 0,
        watermark: 20,
        idle: false,
      },
    ]);
    expect(out.watermarks).toEqual([10]);
  });
});

describe("a sender's reports, one per transaction", () => {
  const shown = (r: SenderReports) => {
    const c = r.current();
    return c === undefined ? undefined : `${c.watermark}${c.idle ? ' idle' : ''}`;
  };

  it('nothing before the first watermark; then the latest, idle while it stays idle', () => {
    const r = new SenderReports();
    expect(shown(r)).toBeUndefined();
    r.note(new SenderWatermark(MIN_WATERMARK, true));
    expect(shown(r)).toBe(`${MIN_WATERMARK} idle`);
    r.note(new SenderWatermark(100, false));
    expect(shown(r)).toBe('100');
  });

  it('active and idle again between two checkpoints: active at its watermark until a report of it is committed', () => {
    const r = new SenderReports();
    r.note(new SenderWatermark(MIN_WATERMARK, true));
    r.sent(40, r.current()!);
    r.committed(40);
    // a backlog read, its watermark reached, idle again: all before checkpoint 41
    r.note(new SenderWatermark(900, false));
    r.note(new SenderWatermark(1048, false));
    r.note(new SenderWatermark(1048, true));
    expect(shown(r)).toBe('1048');
    r.sent(41, r.current()!);
    // 41 not completed (yet, or aborted): 42 reports it again
    expect(shown(r)).toBe('1048');
    r.sent(42, r.current()!);
    r.committed(42);
    expect(shown(r)).toBe('1048 idle');
  });

  it('a later completed checkpoint commits the earlier reports too; activity after a report is reported next', () => {
    const r = new SenderReports();
    r.note(new SenderWatermark(10, false));
    r.sent(1, r.current()!);
    r.note(new SenderWatermark(20, false));
    r.note(new SenderWatermark(20, true));
    r.sent(2, r.current()!);
    r.committed(1);
    // 2 carried the activity after 1
    expect(shown(r)).toBe('20');
    r.committed(2);
    expect(shown(r)).toBe('20 idle');
  });
});
