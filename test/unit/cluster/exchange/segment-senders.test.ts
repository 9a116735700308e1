import { describe, expect, it } from 'vitest';
import {
  SegmentSenders,
  sendersOf,
  type SenderNews,
} from '../../../../src/cluster/exchange/segment-senders.js';

/** news from worker incarnation `inc`'s subtask `subtask`, in checkpoint `checkpoint` of `live` */
const news = (
  inc: string,
  subtask: number,
  checkpoint: number,
  live: string,
  watermark: number,
  idle = false,
): SenderNews => ({ sender: `${inc}/${subtask}`, checkpoint, live, watermark, idle });

describe('the senders of one exchange segment', () => {
  it('names every subtask of every participant (across workers) or every subtask (one process)', () => {
    expect([...sendersOf('n=3')]).toEqual(['0', '1', '2']);
    expect([...sendersOf('p=2;aa,bb')]).toEqual(['aa/0', 'aa/1', 'bb/0', 'bb/1']);
    expect([...sendersOf('p=2;')]).toEqual([]);
  });

  it('holds the watermark back until every sender of the newest checkpoint was heard from, then takes the minimum over the non-idle ones', () => {
    const s = new SegmentSenders();
    expect(s.watermark()).toBeUndefined();
    s.heard(news('aa', 0, 5, 'p=1;aa,bb', 100));
    expect(s.watermark()).toBeUndefined();
    s.heard(news('bb', 0, 5, 'p=1;aa,bb', 50));
    expect(s.watermark()).toBe(50);
    // bb idle as of 6: aa's watermark of 6 is not heard yet, so as of 5 both count
    s.heard(news('bb', 0, 6, 'p=1;aa,bb', 70, true));
    expect(s.watermark()).toBe(50);
    s.heard(news('aa', 0, 6, 'p=1;aa,bb', 120, true));
    expect(s.watermark()).toBe(Number.POSITIVE_INFINITY);
  });

  it("two workers' subtask 0 are two senders", () => {
    const s = new SegmentSenders();
    s.heard(news('aa', 0, 1, 'p=1;aa,bb', 10));
    s.heard(news('aa', 0, 2, 'p=1;aa,bb', 20));
    expect(s.watermark()).toBeUndefined();
    s.heard(news('bb', 0, 2, 'p=1;aa,bb', 15));
    expect(s.watermark()).toBe(15);
  });

  it('retires a sender absent from a newer checkpoint (its worker died) and waits for one that joined', () => {
    const s = new SegmentSenders();
    s.heard(news('aa', 0, 1, 'p=1;aa,dd', 10));
    s.heard(news('dd', 0, 1, 'p=1;aa,dd', 5));
    expect(s.watermark()).toBe(5);
    // checkpoint 2 without dd: dd's last watermark no longer holds the segment back
    s.heard(news('aa', 0, 2, 'p=1;aa', 30));
    expect(s.watermark()).toBe(30);
    // news of dd from an older checkpoint after that changes nothing
    s.heard(news('dd', 0, 1, 'p=1;aa,dd', 6));
    expect(s.watermark()).toBe(30);
    // checkpoint 3 adds ee: held back until ee is heard from
    s.heard(news('aa', 0, 3, 'p=1;aa,ee', 40));
    expect(s.watermark()).toBeUndefined();
    s.heard(news('ee', 0, 3, 'p=1;aa,ee', 35));
    expect(s.watermark()).toBe(35);
  });

  it('a sender heard of only after the frontier holds the segment until the others reach its checkpoint', () => {
    const s = new SegmentSenders();
    s.heard(news('aa', 0, 4, 'p=1;aa,bb', 40));
    s.heard(news('bb', 0, 3, 'p=1;aa,bb', 25));
    expect(s.watermark()).toBeUndefined();
    s.heard(news('bb', 0, 4, 'p=1;aa,bb', 45));
    expect(s.watermark()).toBe(40);
  });

  it("a reader's watermark is taken at the frontier of all its segments: a sender's watermark read in one segment waits for its records in another", () => {
    const here = new SegmentSenders();
    const there = new SegmentSenders();
    // vv was idle (it read nothing), aa the only active sender, at checkpoint 4
    for (const s of [here, there]) {
      s.heard(news('aa', 0, 4, 'p=1;aa,vv', 400));
      s.heard(news('vv', 0, 4, 'p=1;aa,vv', -1, true));
    }
    expect(here.watermark()).toBe(400);
    // aa died; vv took over its input and sent in checkpoint 5: read in the other segment first
    there.heard(news('vv', 0, 5, 'p=1;vv', 549));
    expect(there.watermark()).toBe(549);
    const reader = () => {
      const at = Math.min(here.frontier()!, there.frontier()!);
      return Math.min(here.watermark(at)!, there.watermark(at)!);
    };
    // here: vv's records of checkpoint 5 are still to come: as of 4, not 549
    expect(reader()).toBe(400);
    here.heard(news('vv', 0, 5, 'p=1;vv', 549));
    expect(reader()).toBe(549);
  });

  it("one worker's two subtasks: one heard of at 19 waits for the other, idle as of 18 (its records of 19 may still come)", () => {
    const s = new SegmentSenders();
    for (const sub of [0, 1]) s.heard(news('aa', sub, 18, 'p=2;aa', 129, true));
    expect(s.watermark()).toBe(Number.POSITIVE_INFINITY);
    // subtask 1's transaction of 19 is read first: subtask 0's (with records from 181) is not yet
    s.heard(news('aa', 1, 19, 'p=2;aa', 220));
    expect(s.watermark()).toBe(Number.POSITIVE_INFINITY);
    s.heard(news('aa', 0, 19, 'p=2;aa', 220));
    expect(s.watermark()).toBe(220);
  });

  it('in one process, other senders in the same checkpoint (restarted with another parallelism) start over', () => {
    const s = new SegmentSenders();
    s.heard({ sender: '0', checkpoint: 0, live: 'n=2', watermark: 10, idle: false });
    s.heard({ sender: '1', checkpoint: 0, live: 'n=2', watermark: 10, idle: false });
    expect(s.watermark()).toBe(10);
    s.heard({ sender: '0', checkpoint: 0, live: 'n=3', watermark: 20, idle: false });
    expect(s.watermark()).toBeUndefined();
  });
});
