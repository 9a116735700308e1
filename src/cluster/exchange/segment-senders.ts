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
 * A sender idle at checkpoint k may become active after it, and its records of k' > k may then be
 * read after others' watermarks of k' (in this segment, or in another segment of the same
 * reader). So watermarks are taken at a **frontier**: the oldest checkpoint every live sender
 * was heard of at (in this segment, or — for a reader's own watermark — in all its segments), each
 * sender counting with what it said as of that checkpoint: excluded if it was idle then, else its
 * watermark then. Active senders' later watermarks wait until the idle ones were heard of at
 * their checkpoint too; no sender has to be caught up at any one moment.
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

interface Heard {
  readonly checkpoint: number;
  readonly watermark: number;
  readonly idle: boolean;
}

/** How many checkpoints of each sender are kept: a frontier further back holds the segment. */
const HISTORY = 64;

export class SegmentSenders {
  private checkpoint = Number.NEGATIVE_INFINITY;
  private liveText = '';
  private live: ReadonlySet<string> = new Set();
  /** per live sender, what it said at each recent checkpoint, oldest first */
  private readonly heardOf = new Map<string, Heard[]>();

  heard(news: SenderNews): void {
    if (news.checkpoint > this.checkpoint || news.live !== this.liveText) {
      if (news.checkpoint < this.checkpoint) {
        // an older checkpoint's set: only a sender still live may add to its own history
        if (this.live.has(news.sender)) this.keep(news);
        return;
      }
      if (news.checkpoint === this.checkpoint) {
        // the same checkpoint with other senders: the job was restarted with another
        // parallelism in one process; start over
        this.heardOf.clear();
      }
      this.checkpoint = news.checkpoint;
      this.liveText = news.live;
      this.live = sendersOf(news.live);
      for (const sender of [...this.heardOf.keys()])
        if (!this.live.has(sender)) this.heardOf.delete(sender);
    }
    if (this.live.has(news.sender)) this.keep(news);
  }

  private keep(news: SenderNews): void {
    let history = this.heardOf.get(news.sender);
    if (history === undefined) this.heardOf.set(news.sender, (history = []));
    const last = history.at(-1);
    const heard = { checkpoint: news.checkpoint, watermark: news.watermark, idle: news.idle };
    if (last !== undefined && last.checkpoint >= news.checkpoint)
      history[history.length - 1] = heard;
    else history.push(heard);
    if (history.length > HISTORY) history.shift();
  }

  /** The oldest checkpoint every live sender was heard of at; undefined while one was not. */
  frontier(): number | undefined {
    if (this.live.size === 0 || this.heardOf.size < this.live.size) return undefined;
    let frontier = Number.POSITIVE_INFINITY;
    for (const history of this.heardOf.values())
      frontier = Math.min(frontier, history.at(-1)!.checkpoint);
    return frontier;
  }

  /**
   * The minimum over the live senders' watermarks as of checkpoint `at` (default: this segment's
   * frontier), the idle ones left out; +Infinity when all were idle; undefined while held back
   * (a live sender not heard from, or not heard of at or before `at`).
   */
  watermark(at: number | undefined = this.frontier()): number | undefined {
    if (at === undefined || this.heardOf.size < this.live.size) return undefined;
    let watermark = Number.POSITIVE_INFINITY;
    for (const history of this.heardOf.values()) {
      let then: Heard | undefined;
      for (let i = history.length - 1; i >= 0; i--) {
        if (history[i]!.checkpoint <= at) {
          then = history[i];
          break;
        }
      }
      if (then === undefined) return undefined;
      if (!then.idle && then.watermark < watermark) watermark = then.watermark;
    }
    return watermark;
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
