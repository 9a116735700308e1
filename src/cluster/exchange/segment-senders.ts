/**
 * What one receiver knows of the senders' watermarks in one segment of an exchange edge.
 *
 * A sender writes its watermark into every segment of each of its transactions, after its
 * records, with the set of senders of that transaction's checkpoint (`live`). In one process the
 * senders are the sending subtasks (`n=<parallelism>`); across workers they are every subtask of
 * every participant of the checkpoint (`p=<parallelism>;<incarnation>,…`, an incarnation being a
 * worker id and epoch), so two workers' subtask 0 are told apart, and a sender absent from the
 * newest checkpoint heard of is retired: a dead worker's transactions are all committed (by the
 * leader) before a checkpoint without it is proposed, so nothing of it comes after.
 *
 * The segment's watermark is the minimum over the live senders that are not idle, once every live
 * sender was heard from (`undefined` until then: held back); `+Infinity` when all are idle. A
 * sender counts as idle only as of the newest checkpoint the reader heard of, from any sender in
 * any segment (its {@link SenderClock}): idle as of an older one, it may have become active since
 * — its transaction of the newer checkpoint, not read here yet, may hold records behind what the
 * others' watermarks of that checkpoint say — so it counts with its last watermark here.
 */
export interface SenderNews {
  /** the sender: `<subtask>` in one process, `<incarnation>/<subtask>` across workers */
  readonly sender: string;
  readonly watermark: number;
  readonly idle: boolean;
  /** the checkpoint whose transaction carried it (0 in one process) */
  readonly checkpoint: number;
  /** the senders of that checkpoint, as written (see above) */
  readonly live: string;
}

export class SegmentSenders {
  private checkpoint = Number.NEGATIVE_INFINITY;
  private liveText = '';
  private live: ReadonlySet<string> = new Set();
  private readonly latest = new Map<
    string,
    { watermark: number; idle: boolean; checkpoint: number }
  >();

  constructor(private readonly clock: SenderClock = new SenderClock()) {}

  heard(news: SenderNews): void {
    this.clock.heard(news.checkpoint);
    if (news.checkpoint > this.checkpoint || news.live !== this.liveText) {
      if (news.checkpoint < this.checkpoint) {
        // an older checkpoint's set: only a sender still live may update its own entry
        if (this.live.has(news.sender)) this.keep(news);
        return;
      }
      if (news.checkpoint === this.checkpoint) {
        // the same checkpoint with other senders: the job was restarted with another
        // parallelism in one process; start over
        this.latest.clear();
      }
      this.checkpoint = news.checkpoint;
      this.liveText = news.live;
      this.live = sendersOf(news.live);
      for (const sender of [...this.latest.keys()])
        if (!this.live.has(sender)) this.latest.delete(sender);
    }
    if (this.live.has(news.sender)) this.keep(news);
  }

  private keep(news: SenderNews): void {
    this.latest.set(news.sender, {
      watermark: news.watermark,
      idle: news.idle,
      checkpoint: news.checkpoint,
    });
  }

  /** undefined while a live sender was not heard from; +Infinity when every live one is idle */
  watermark(): number | undefined {
    if (this.live.size === 0 || this.latest.size < this.live.size) return undefined;
    let watermark = Number.POSITIVE_INFINITY;
    const newest = this.clock.newest();
    for (const s of this.latest.values()) {
      const idle = s.idle && s.checkpoint >= newest;
      if (!idle && s.watermark < watermark) watermark = s.watermark;
    }
    return watermark;
  }
}

/** The newest checkpoint one reader heard of, from any sender in any of its segments. */
export class SenderClock {
  private checkpoint = Number.NEGATIVE_INFINITY;

  heard(checkpoint: number): void {
    if (checkpoint > this.checkpoint) this.checkpoint = checkpoint;
  }

  newest(): number {
    return this.checkpoint;
  }
}

/** The sender keys a `live` text names. */
export function sendersOf(live: string): ReadonlySet<string> {
  const out = new Set<string>();
  if (live.startsWith('n=')) {
    const n = Number(live.slice(2));
    for (let i = 0; i < n; i++) out.add(String(i));
    return out;
  }
  const semicolon = live.indexOf(';');
  const parallelism = Number(live.slice(2, semicolon));
  const incarnations = live.slice(semicolon + 1);
  if (incarnations.length === 0) return out;
  for (const inc of incarnations.split(','))
    for (let i = 0; i < parallelism; i++) out.add(`${inc}/${i}`);
  return out;
}
