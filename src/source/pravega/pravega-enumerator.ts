import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, errorMessage, hasErrorCode } from '../../errors.js';
import { acquireClient, type SharedClient } from '../../pravega/client/client-registry.js';
import { Checkpoint } from '../../pravega/client/reader-group/checkpoint.js';
import { ReaderGroup } from '../../pravega/client/reader-group/reader-group.js';
import type { ReaderGroupConfigInput } from '../../pravega/client/reader-group/reader-group-config.js';
import type { CloseReason, SplitEnumerator, SplitEnumeratorContext, StreamLag } from '../source.js';
import { checkpointIdOf, checkpointName, readerId } from './names.js';
import type { PravegaEnumeratorState, PravegaReaderSplit } from './pravega-split.js';
import type { ReadStats } from './read-stats.js';

/** How often a checkpoint looks whether the readers it waits for have joined the group. */
const READERS_JOINED_POLL_MS = 50;

/** Reader timeout of a reader group shared by the workers of a cluster job (10 min). */
const CLUSTER_READER_TIMEOUT_MS = 600_000;

export interface EnumeratorSettings {
  readonly scope: string;
  readonly group: string;
  readonly config: ReaderGroupConfigInput;
  readonly pravega: unknown;
  /** What the readers read (to count the lag in events). */
  readonly stats?: ReadStats;
}

/**
 * The coordinator side of the Pravega source. It owns the reader group: on a fresh start it
 * (re)creates the group at the configured start cuts — so a restart without a completed
 * checkpoint reads from the start again — and on restore it resets the group to the checkpoint in
 * its state. Checkpoint N is delegated to the reader group: `initiateCheckpoint` places a marker
 * in front of every reader, each source reader cuts its output there, and the positions the group
 * returns become this enumerator's part of N. One split (a reader slot) per subtask.
 */
export class PravegaSplitEnumerator implements SplitEnumerator<
  PravegaReaderSplit,
  PravegaEnumeratorState
> {
  private shared: SharedClient | undefined;
  private group: ReaderGroup | undefined;
  private readonly assigned = new Set<number>();
  /** distinguishes this enumerator's checkpoint names from those of earlier runs */
  private readonly instance = randomBytes(4).toString('hex');
  private readonly waits = new Map<number, AbortController>();
  private lastState: PravegaEnumeratorState;
  /** every reader of the source has been online in the group (see readersJoined) */
  private readersOnline = false;

  constructor(
    private readonly ctx: SplitEnumeratorContext<PravegaReaderSplit>,
    private readonly settings: EnumeratorSettings,
    private readonly restored: PravegaEnumeratorState | undefined,
  ) {
    this.lastState = restored ?? { checkpoint: null };
  }

  async start(): Promise<void> {
    this.shared = await acquireClient(this.settings.pravega ?? this.ctx.connectors.pravega);
    const client = this.shared.client;
    const { scope, group: name } = this.settings;
    const cluster = this.ctx.connectors.cluster;
    // in a cluster job the leader takes dead workers' readers offline at the job's last completed
    // checkpoint; the group's own sweep (at the group's last checkpoint, which may be ahead of
    // the job's) must not come first
    const config =
      cluster === undefined
        ? this.settings.config
        : { ...this.settings.config, readerTimeoutMs: CLUSTER_READER_TIMEOUT_MS };
    let group: ReaderGroup;
    try {
      group = await ReaderGroup.get(client, scope, name);
    } catch (err) {
      if (!TributaryError.is(err, 'READER_GROUP_NOT_FOUND')) throw err;
      group = await ReaderGroup.create(client, scope, name, config);
    }
    if (cluster !== undefined) {
      // one worker of several: the group is shared, and only where the whole job starts over
      // is it moved (the workers that run go on reading)
      const start = cluster.groupStart(group.scopedName);
      if (start === 'fresh') await group.reset(config);
      else if (start !== 'join') await group.resetToCheckpoint(Checkpoint.parse(start.checkpoint));
      this.group = group;
      return;
    }
    const checkpoint = this.restored?.checkpoint;
    if (checkpoint) {
      // restore: the group starts over at the positions of the restored checkpoint
      await group.resetToCheckpoint(Checkpoint.parse(checkpoint));
    } else {
      // fresh start or a restart with no completed checkpoint: back to the configured start
      await group.reset(config);
    }
    this.group = group;
  }

  addReader(subtask: number): void {
    if (this.assigned.has(subtask)) return;
    this.assigned.add(subtask);
    const cluster = this.ctx.connectors.cluster;
    const id =
      cluster === undefined
        ? readerId(this.settings.group, subtask)
        : `${cluster.workerId}-${subtask}`;
    this.ctx.assignSplits(subtask, [
      {
        splitId: id,
        readerGroupScope: this.settings.scope,
        readerGroup: this.settings.group,
        readerId: id,
      },
    ]);
  }

  handleSplitRequest(): void {}

  addSplitsBack(_splits: readonly PravegaReaderSplit[], subtask: number): void {
    // the slot goes back to the same subtask when it registers again
    this.assigned.delete(subtask);
  }

  async snapshotState(checkpointId: number): Promise<PravegaEnumeratorState | undefined> {
    const group = this.group;
    if (group === undefined) return undefined;
    const cluster = this.ctx.connectors.cluster;
    if (cluster !== undefined && !cluster.isLeader()) {
      // the leader initiates the group's checkpoint; its markers reach this worker's readers too
      return { checkpoint: null };
    }
    if (this.ctx.finishedReaders().size >= this.ctx.parallelism) {
      // every reader is done (the final checkpoint of a bounded job): the group's positions are the ends
      const cuts = await group.getStreamCuts();
      const positions = new Map([...cuts].map(([key, cut]) => [key, cut.positions]));
      this.lastState = {
        checkpoint: new Checkpoint(group.scopedName, `final-${checkpointId}`, positions).toText(),
      };
      return this.lastState;
    }
    const abort = new AbortController();
    this.waits.set(checkpointId, abort);
    const deadline = Date.now() + this.ctx.checkpointing.timeoutMs;
    try {
      // (a cluster job's readers join under the cluster's own gating: see ClusterConnectorContext)
      if (cluster === undefined && !(await this.readersJoined(group, deadline, abort.signal)))
        return undefined;
      const checkpoint = await group.initiateCheckpoint(
        checkpointName(checkpointId, this.instance),
        {
          timeoutMs: Math.max(1, deadline - Date.now()),
          signal: abort.signal,
        },
      );
      this.lastState = { checkpoint: checkpoint.toText() };
      return this.lastState;
    } catch (err) {
      if (TributaryError.is(err, 'CHECKPOINT_LIMIT')) {
        // stale checkpoints pile up (e.g. after timeouts): drop them so the next one can run
        await group.cancelOutstandingCheckpoints().catch(() => undefined);
      }
      if (hasErrorCode(err, 'CHECKPOINT_LIMIT', 'TIMEOUT', 'CANCELLED', 'CHECKPOINT_FAILED'))
        return undefined;
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `reader group ${group.scopedName}: checkpoint ${checkpointId} failed: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    } finally {
      this.waits.delete(checkpointId);
    }
  }

  /**
   * Waits until every reader of this source that has not ended is online in the group (or the
   * group has read everything): a reader-group checkpoint waits only for the readers online when
   * it starts and holds every other segment where it was then. A reader that joined later would
   * read those segments without ever being shown the marker, and its task would place the
   * barrier only at its end of input — so the checkpoint would count everything it read as
   * emitted before the barrier while its positions say unread, and a restore would read it all
   * again (duplicates downstream, even through an exactly-once sink). False when the deadline
   * passed or the checkpoint was aborted first (the checkpoint is then declined).
   */
  private async readersJoined(
    group: ReaderGroup,
    deadline: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    const finished = this.ctx.finishedReaders();
    const expected: string[] = [];
    for (let subtask = 0; subtask < this.ctx.parallelism; subtask++) {
      if (!finished.has(subtask)) expected.push(readerId(this.settings.group, subtask));
    }
    // once all were online they stay until their end (a reader leaves only at the end of data,
    // or fails the attempt, which starts a new enumerator): later checkpoints need no look
    if (this.readersOnline) return true;
    for (;;) {
      const online = new Set(await group.getOnlineReaders());
      if (expected.every((id) => online.has(id))) {
        this.readersOnline = true;
        return true;
      }
      if (await group.isEndOfData()) return true;
      const wait = Math.min(READERS_JOINED_POLL_MS, deadline - Date.now());
      if (wait <= 0 || signal.aborted) return false;
      await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return false;
    }
  }

  /** Unread bytes per stream: the streams' tails minus the reader group's positions. */
  async lag(): Promise<StreamLag[]> {
    const group = this.group;
    if (group === undefined) return [];
    const unread = await group.unreadBytesByStream();
    return [...unread].map(([stream, unreadBytes]) => {
      const bytes = Number(unreadBytes);
      const events = this.settings.stats?.eventsIn(stream, bytes);
      return events === undefined ? { stream, bytes } : { stream, bytes, events };
    });
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    this.waits.get(checkpointId)?.abort();
    // an aborted job checkpoint must not stay outstanding in the group; newer ones stay: in a
    // cluster another worker (the leader) may have started the next one before this worker
    // heard of the abort, and cancelling it would abort that checkpoint too
    await this.group
      ?.cancelOutstandingCheckpoints((name) => (checkpointIdOf(name) ?? 0) <= checkpointId)
      .catch(() => undefined);
  }

  async close(reason: CloseReason): Promise<void> {
    for (const w of this.waits.values()) w.abort();
    try {
      // the job is over for good: the reader group goes with it
      // (shared by the workers of a cluster job: the cluster deletes it when the job ends)
      if (
        (reason === 'finished' || reason === 'cancelled') &&
        this.group &&
        this.ctx.connectors.cluster === undefined
      )
        await this.group.delete();
    } finally {
      await this.shared?.release();
      this.shared = undefined;
    }
  }
}
