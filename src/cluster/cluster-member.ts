import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TributaryError } from '../errors.js';
import { decideCheckpoint, type CheckpointDecision } from './checkpoint-decision.js';
import type { CoordinationTable, TableWrite, VersionedRecord } from './coordination-table.js';
import { withDeadline } from './deadline.js';
import { completedRecordOf } from './key-group-ownership.js';
import { VersionWatch, monotonicMs } from './liveness.js';
import {
  CHECKPOINT_KEY,
  COMPLETED_KEY,
  LEADER_KEY,
  MEMBER_PREFIX,
  ACK_PREFIX,
  ackKey,
  memberKey,
  parseAck,
  parseCheckpoint,
  parseCompleted,
  parseLeader,
  parseMember,
  type AckRecord,
  type CheckpointRecord,
  type CompletedRecord,
  type LeaderRecord,
  type MemberRecord,
  type Participant,
} from './records.js';

/**
 * One worker of a job in the job's coordination table (see docs/scale-out.md): it joins with a
 * fencing epoch, heart-beats by rewriting its own record, takes part in leader election, and acks
 * the checkpoints the leader proposes. The leader declares members dead, proposes checkpoints and
 * completes or aborts them. Every write is a conditional update; a member whose own record moved
 * under it (declared dead) is fenced: it stops, and every later call throws.
 */

export interface ClusterMemberOptions {
  /** Stable id of this worker (a restart with the same id gets the next epoch). Default: host-pid-random. */
  readonly workerId?: string;
  /** How often the member rewrites its record. Default 500 ms. */
  readonly heartbeatMs?: number;
  /** A member whose record has not changed for this long is declared dead. Default 10 × heartbeatMs. */
  readonly deadAfterMs?: number;
  /** A leader whose record has not changed for this long is replaced. Default deadAfterMs. */
  readonly leaseMs?: number;
  /** How often the loop looks at the table (checkpoints, acks). Default 50 ms. */
  readonly pollMs?: number;
  /**
   * How often a member that does not lead reads the table. Default pollMs. A worker whose readers
   * learn of checkpoints in band (the reader-group marker, then {@link ClusterMember.ack}) can
   * set it to heartbeatMs: the table traffic per worker drops by the poll/heartbeat ratio. A
   * ready ack is written at the next poll regardless.
   */
  readonly followerPollMs?: number;
  /** A pending checkpoint is aborted after this long. Default 60 s. */
  readonly checkpointTimeoutMs?: number;
  /**
   * Produces this worker's piece of checkpoint `id` (positions, pending transactions, state
   * handles): called once per checkpoint this member takes part in; its result is the ack. When
   * absent, the member acks only what {@link ClusterMember.ack} is given.
   */
  readonly onCheckpoint?: (id: number) => Promise<unknown>;
  /**
   * The job owns its keyed state per key group (K key groups, state after an exchange edge): the
   * completed records say which key groups no checkpoint has named yet (`neverNamed`).
   */
  readonly keyGroups?: number;
  /** Told about every change this member sees. Must not throw. */
  readonly onEvent?: (event: ClusterEvent) => void;
  /** Shown with the member (status pages). */
  readonly info?: Record<string, unknown>;
  /** No timer: the caller drives {@link ClusterMember.tick} (models, deterministic tests). */
  readonly manual?: boolean;
}

export type ClusterEvent =
  | { readonly type: 'leader-elected'; readonly workerId: string; readonly term: number }
  | { readonly type: 'leadership-lost'; readonly term: number; readonly why: string }
  | { readonly type: 'member-dead'; readonly workerId: string; readonly epoch: number }
  | { readonly type: 'checkpoint-proposed'; readonly id: number }
  | { readonly type: 'checkpoint-completed'; readonly record: CompletedRecord }
  | { readonly type: 'checkpoint-aborted'; readonly id: number; readonly reason: string }
  | { readonly type: 'fenced'; readonly error: TributaryError }
  | { readonly type: 'error'; readonly error: unknown };

interface Resolved {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly followerPollMs: number;
  readonly checkpointTimeoutMs: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `cluster option ${name} must be a positive number of ms, got ${String(value)}`,
    );
  }
  return v;
}

function resolve(options: ClusterMemberOptions): Resolved {
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 500);
  const deadAfterMs = positive('deadAfterMs', options.deadAfterMs, heartbeatMs * 10);
  if (deadAfterMs < heartbeatMs * 3) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `cluster option deadAfterMs (${deadAfterMs}) must be at least 3 × heartbeatMs (${heartbeatMs}): one late beat must not kill a worker`,
    );
  }
  const leaseMs = positive('leaseMs', options.leaseMs, deadAfterMs);
  if (leaseMs < heartbeatMs * 3) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `cluster option leaseMs (${leaseMs}) must be at least 3 × heartbeatMs (${heartbeatMs})`,
    );
  }
  const pollMs = positive('pollMs', options.pollMs, 50);
  const followerPollMs = positive('followerPollMs', options.followerPollMs, pollMs);
  if (
    options.followerPollMs !== undefined &&
    (followerPollMs > heartbeatMs || followerPollMs < pollMs)
  ) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `cluster option followerPollMs (${followerPollMs}) must lie between pollMs (${pollMs}) and heartbeatMs (${heartbeatMs})`,
    );
  }
  return {
    heartbeatMs,
    deadAfterMs,
    leaseMs,
    pollMs,
    followerPollMs,
    checkpointTimeoutMs: positive('checkpointTimeoutMs', options.checkpointTimeoutMs, 60_000),
  };
}

const WORKER_ID_RE = /^[A-Za-z0-9._-]{1,100}$/;

export class ClusterMember {
  readonly workerId: string;
  private readonly opts: Resolved;
  private epochValue = 0;
  private beat = 0;
  private myVersion: bigint | undefined;
  /** the beat of a write whose outcome is unknown (timed out): recognised on the next read */
  private uncertainBeat: number | undefined;
  private lastBeatAt = 0;
  private lastRoundAt = monotonicMs();

  private leader: { term: number; version: bigint; renewedAt: number } | undefined;
  private leaderSeen: LeaderRecord | undefined;
  private readonly watch = new VersionWatch();
  private membersView = new Map<string, MemberRecord>();
  private membersListedAt = -Infinity;
  private pendingSince: { id: number; at: number } | undefined;

  private lastCompleted = 0;
  private lastAborted = 0;
  /** the highest checkpoint id known completed or aborted: its acks may go */
  private lastDecided = 0;
  private lastProposedSeen = 0;
  /** the participants of recent checkpoints this member saw proposed (or proposed itself) */
  private readonly proposedMembers = new Map<number, readonly Participant[]>();
  /** this member's piece for a checkpoint, ready to be written with the next beat */
  private readyAck: { id: number; piece: unknown } | undefined;
  private readonly acked = new Set<number>();
  private readonly producing = new Set<number>();
  /** a pending checkpoint the leader gave up (see abandonCheckpoint) */
  private abandoned: { id: number; reason: string } | undefined;

  private timer: NodeJS.Timeout | undefined;
  private serial: Promise<unknown> = Promise.resolve();
  private ticking = false;
  private stopped = false;
  private fencedError: TributaryError | undefined;
  /** counters of the table traffic this member caused (models and benches read them) */
  readonly stats = { reads: 0, writes: 0, conflicts: 0, lists: 0 };

  private constructor(
    private readonly table: CoordinationTable,
    private readonly options: ClusterMemberOptions,
  ) {
    this.opts = resolve(options);
    const id = options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    if (!WORKER_ID_RE.test(id)) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `worker id ${JSON.stringify(id)} is not valid: use 1-100 characters of A-Z a-z 0-9 . _ -`,
      );
    }
    this.workerId = id;
  }

  /**
   * Joins the job's cluster: creates this worker's record (epoch 1), or takes over the record of
   * an earlier run of the same worker id that left or was declared dead (next epoch). A record of
   * the same id that is still alive is refused, unless it stops changing within `deadAfterMs`.
   */
  static async join(
    table: CoordinationTable,
    options: ClusterMemberOptions = {},
  ): Promise<ClusterMember> {
    const member = new ClusterMember(table, options);
    await member.register();
    if (options.manual !== true) member.schedule();
    return member;
  }

  get epoch(): number {
    return this.epochValue;
  }

  get isLeader(): boolean {
    return this.leader !== undefined && !this.stopped;
  }

  /** The leader's term while this member leads. */
  get term(): number | undefined {
    return this.leader?.term;
  }

  /** The leader as last read from the table. */
  get currentLeader(): LeaderRecord | undefined {
    return this.leaderSeen;
  }

  get fenced(): TributaryError | undefined {
    return this.fencedError;
  }

  get where(): string {
    return this.table.where;
  }

  /** Every member record in the table (one read of the table). */
  async members(): Promise<MemberRecord[]> {
    this.stats.lists++;
    const records = await this.table.list(MEMBER_PREFIX);
    return records.map((r) => parseMember(r.key, r.value));
  }

  /** The latest completed checkpoint (with every worker's piece), if any. */
  async latestCompleted(): Promise<CompletedRecord | undefined> {
    this.stats.reads++;
    const [rec] = await this.table.get([COMPLETED_KEY]);
    return rec === undefined ? undefined : parseCompleted(rec.key, rec.value);
  }

  /** Hands this worker's piece of checkpoint `id` in (the in-band path: its reader saw the marker). */
  ack(id: number, piece: unknown): void {
    this.throwIfStopped();
    if (this.acked.has(id)) return;
    this.readyAck = { id, piece };
  }

  /**
   * Leader only: proposes the next checkpoint to every live member. @returns its id.
   * ILLEGAL_STATE when this member does not lead; CHECKPOINT_LIMIT while one is pending.
   */
  triggerCheckpoint(): Promise<number> {
    return this.exclusive(async () => {
      this.throwIfStopped();
      const lead = this.leader;
      if (lead === undefined) {
        throw new TributaryError(
          'ILLEGAL_STATE',
          `worker ${this.workerId} is not the leader of ${this.table.where}; only the leader triggers checkpoints`,
        );
      }
      this.stats.reads++;
      const [cur] = await this.table.get([CHECKPOINT_KEY]);
      const current = cur === undefined ? undefined : parseCheckpoint(cur.key, cur.value);
      if (current?.state === 'pending') {
        throw new TributaryError(
          'CHECKPOINT_LIMIT',
          `checkpoint ${current.id} is still pending in ${this.table.where}; trigger the next one after it completes or aborts`,
        );
      }
      await this.listMembers(monotonicMs());
      const members = [...this.membersView.values()]
        .filter((m) => m.state === 'alive')
        .map((m) => ({ workerId: m.workerId, epoch: m.epoch }));
      const id = (current?.id ?? 0) + 1;
      const proposal: CheckpointRecord = { id, term: lead.term, state: 'pending', members };
      const ok = await this.leaderWrite([
        { key: CHECKPOINT_KEY, value: proposal, expected: cur?.version ?? 'absent' },
      ]);
      if (!ok) {
        throw new TributaryError(
          'CHECKPOINT_FAILED',
          `checkpoint ${id} could not be proposed: ${this.leader === undefined ? 'this worker lost the leadership' : 'the checkpoint record moved'}; retry`,
        );
      }
      this.pendingSince = { id, at: monotonicMs() };
      this.noteMembers(proposal);
      return id;
    });
  }

  /**
   * Waits until checkpoint `id` is completed (@returns the global record) or aborted
   * (CHECKPOINT_FAILED with the reason); TIMEOUT after `timeoutMs`. Any member may wait.
   */
  async awaitCheckpoint(id: number, timeoutMs: number): Promise<CompletedRecord> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      this.stats.reads++;
      const [cp, done] = await withDeadline(
        this.table.get([CHECKPOINT_KEY, COMPLETED_KEY]),
        Math.max(1, until - Date.now()),
        `waiting for checkpoint ${id}`,
      );
      const completed = done === undefined ? undefined : parseCompleted(done.key, done.value);
      if (completed !== undefined && completed.id === id) return completed;
      const checkpoint = cp === undefined ? undefined : parseCheckpoint(cp.key, cp.value);
      if (checkpoint !== undefined && checkpoint.id === id && checkpoint.state === 'aborted') {
        throw new TributaryError(
          'CHECKPOINT_FAILED',
          `cluster checkpoint ${id} was aborted: ${checkpoint.reason ?? 'no reason recorded'}`,
          { details: { id, reason: checkpoint.reason } },
        );
      }
      if ((checkpoint?.id ?? 0) > id || (completed?.id ?? 0) > id) {
        throw new TributaryError(
          'CHECKPOINT_FAILED',
          `cluster checkpoint ${id} was superseded by checkpoint ${Math.max(checkpoint?.id ?? 0, completed?.id ?? 0)} without completing`,
        );
      }
      if (Date.now() > until) {
        throw new TributaryError(
          'TIMEOUT',
          `cluster checkpoint ${id} neither completed nor aborted within ${timeoutMs} ms (${this.table.where})`,
        );
      }
      await new Promise((r) => setTimeout(r, this.opts.pollMs));
    }
  }

  /**
   * Leader only: gives up pending checkpoint `id` (its own part failed): it is aborted at the next
   * round instead of waiting for its timeout. Ignored for any other id.
   */
  abandonCheckpoint(id: number, reason: string): void {
    if (this.leader === undefined) return;
    this.abandoned = { id, reason };
  }

  /** Leaves for good: marks the record `left` and hands the leadership back at once. */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stopTimer();
    await this.exclusive(async () => {
      if (this.stopped) return;
      this.stopped = true;
      const writes: TableWrite[] = [];
      if (this.myVersion !== undefined) {
        writes.push({
          key: memberKey(this.workerId),
          value: this.record('left'),
          expected: this.myVersion,
        });
      }
      this.stats.writes++;
      await this.table.put(writes);
      const lead = this.leader;
      this.leader = undefined;
      if (lead !== undefined && this.leaderSeen !== undefined) {
        // vacate, not remove: the next leader's term must still count up (it fences ours)
        const vacant: LeaderRecord = {
          ...this.leaderSeen,
          beat: this.leaderSeen.beat + 1,
          vacant: true,
        };
        this.stats.writes++;
        await this.table.put([{ key: LEADER_KEY, value: vacant, expected: lead.version }]);
      }
    });
  }

  /**
   * Stops this member's loop without a word to the table: to the others it looks exactly like a
   * crashed process (they declare it dead after `deadAfterMs`). For shutdown after a fatal error.
   */
  halt(): void {
    this.stopTimer();
    this.stopped = true;
  }

  /**
   * One round of the protocol: read, beat, lead or follow, ack. Runs every `pollMs` unless the
   * member is manual. Errors of the table (unreachable server) are reported as events and retried
   * next round; a fenced member stops.
   */
  tick(): Promise<void> {
    if (this.stopped || this.ticking) return Promise.resolve();
    this.ticking = true;
    return this.exclusive(() => this.round())
      .catch((err: unknown) => {
        if (!this.stopped) this.emit({ type: 'error', error: err });
      })
      .finally(() => {
        this.ticking = false;
      });
  }

  // ---- internals ----

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.opts.pollMs);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private emit(event: ClusterEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // a listener's failure is its own
    }
  }

  private throwIfStopped(): void {
    if (this.fencedError !== undefined) throw this.fencedError;
    if (this.stopped) {
      throw new TributaryError('CLOSED', `worker ${this.workerId} has left ${this.table.where}`);
    }
  }

  private record(state: MemberRecord['state']): MemberRecord {
    return {
      workerId: this.workerId,
      epoch: this.epochValue,
      host: hostname(),
      pid: process.pid,
      joinedAt: this.joinedAt,
      beat: this.beat,
      state,
      ...(this.options.info === undefined ? {} : { info: this.options.info }),
    };
  }

  private joinedAt = Date.now();

  private async register(): Promise<void> {
    const key = memberKey(this.workerId);
    const started = monotonicMs();
    for (;;) {
      this.stats.reads++;
      const [existing] = await this.table.get([key]);
      let expected: bigint | 'absent' = 'absent';
      this.epochValue = 1;
      if (existing !== undefined) {
        const prior = parseMember(key, existing.value);
        const frozenFor = this.watch.observe(key, existing.version, monotonicMs());
        if (prior.state === 'alive' && frozenFor < this.opts.deadAfterMs) {
          if (monotonicMs() - started > this.opts.deadAfterMs * 2) {
            throw new TributaryError(
              'JOB_ALREADY_RUNNING',
              `worker id ${this.workerId} is already in use in ${this.table.where} (host ${prior.host}, pid ${prior.pid}) and keeps beating: give this worker another id, or stop the other one`,
            );
          }
          await new Promise((r) => setTimeout(r, this.opts.heartbeatMs));
          continue;
        }
        expected = existing.version;
        this.epochValue = prior.epoch + 1;
      }
      this.beat = 1;
      this.joinedAt = Date.now();
      this.stats.writes++;
      const versions = await this.table.put([{ key, value: this.record('alive'), expected }]);
      if (versions === undefined) {
        this.stats.conflicts++;
        continue;
      }
      this.watch.forget(key);
      this.myVersion = versions[0];
      this.lastBeatAt = monotonicMs();
      return;
    }
  }

  private fence(why: string): void {
    if (this.fencedError !== undefined) return;
    this.fencedError = new TributaryError(
      'CONDITIONAL_CHECK_FAILED',
      `worker ${this.workerId} (epoch ${this.epochValue}) was fenced out of ${this.table.where}: ${why}. It must stop writing; restart it to re-join with a new epoch`,
      { details: { workerId: this.workerId, epoch: this.epochValue, fenced: true } },
    );
    this.leader = undefined;
    this.stopped = true;
    this.stopTimer();
    this.emit({ type: 'fenced', error: this.fencedError });
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const now = monotonicMs();
    if (
      this.leader === undefined &&
      this.readyAck === undefined &&
      now - this.lastRoundAt < this.opts.followerPollMs - this.opts.pollMs / 2
    ) {
      return;
    }
    // this process itself stalled (GC, a loaded machine): what it observed before the stall says
    // nothing about the others, who may have beaten meanwhile; observe afresh
    if (now - this.lastRoundAt > Math.min(this.opts.deadAfterMs, this.opts.leaseMs) / 2) {
      this.watch.clear();
    }
    this.lastRoundAt = now;
    this.stats.reads++;
    const [self, leader, checkpoint, completed] = await this.table.get([
      memberKey(this.workerId),
      LEADER_KEY,
      CHECKPOINT_KEY,
      COMPLETED_KEY,
    ]);
    if (!this.checkSelf(self)) return;

    const cp =
      checkpoint === undefined ? undefined : parseCheckpoint(checkpoint.key, checkpoint.value);
    const done =
      completed === undefined ? undefined : parseCompleted(completed.key, completed.value);
    this.noticeCheckpoint(cp, done);

    // follower side of a pending checkpoint: produce this worker's piece (asynchronously)
    if (cp?.state === 'pending') this.maybeProduce(cp);

    // beat (with a ready ack in the same atomic write)
    const ack = this.readyAck;
    if (ack !== undefined || now - this.lastBeatAt >= this.opts.heartbeatMs) {
      if (!(await this.beatWith(ack))) return;
    }

    await this.leadership(leader, now);
    if (this.leader !== undefined && cp?.state === 'pending' && checkpoint !== undefined)
      await this.drive(cp, checkpoint.version, now);
    else if (this.leader !== undefined && now - this.membersListedAt >= this.opts.heartbeatMs) {
      await this.listMembers(now);
      await this.declareDead(now);
    }
  }

  /** false (and fenced) when our own record is no longer ours */
  private checkSelf(self: VersionedRecord | undefined): boolean {
    if (self === undefined) {
      this.fence('its member record was removed');
      return false;
    }
    if (self.version === this.myVersion) return true;
    const rec = parseMember(self.key, self.value);
    if (
      this.uncertainBeat !== undefined &&
      rec.epoch === this.epochValue &&
      rec.state === 'alive' &&
      rec.beat === this.uncertainBeat
    ) {
      // our own write that timed out did land
      this.myVersion = self.version;
      this.uncertainBeat = undefined;
      return true;
    }
    this.fence(
      rec.state === 'dead'
        ? `it was declared dead by ${rec.deadBy ?? 'the leader'}`
        : `its record was rewritten (epoch ${rec.epoch}, state ${rec.state}) by someone else`,
    );
    return false;
  }

  /** The participants of checkpoint `id`, if this member saw its proposal (recent ones only). */
  participantsOf(id: number): readonly Participant[] | undefined {
    return this.proposedMembers.get(id);
  }

  private noteMembers(cp: CheckpointRecord): void {
    if (this.proposedMembers.has(cp.id)) return;
    this.proposedMembers.set(cp.id, cp.members);
    for (const id of this.proposedMembers.keys()) {
      if (this.proposedMembers.size <= 16) break;
      this.proposedMembers.delete(id);
    }
  }

  /** @param proposal false when `cp` is the leader's own decision, not a record read (no news of proposals) */
  private noticeCheckpoint(
    cp: CheckpointRecord | undefined,
    done: CompletedRecord | undefined,
    proposal = true,
  ): void {
    if (cp !== undefined) this.noteMembers(cp);
    if (done !== undefined && done.id > this.lastCompleted) {
      this.lastCompleted = done.id;
      this.lastDecided = Math.max(this.lastDecided, done.id);
      this.emit({ type: 'checkpoint-completed', record: done });
    }
    if (proposal && cp !== undefined && cp.id > this.lastProposedSeen) {
      // one checkpoint is pending at a time: a newer proposal means the one seen before was
      // decided. Its abort lives only in the checkpoint record, which the next proposal
      // overwrites — so a member that polled in between (or the leader that wrote it) missed it;
      // unless the completed record says otherwise, it was aborted. Told now, a worker waiting
      // for it moves on at once instead of after its own deadline.
      const previous = this.lastProposedSeen;
      if (previous > this.lastDecided && previous > (done?.id ?? 0)) {
        this.lastAborted = Math.max(this.lastAborted, previous);
        this.lastDecided = previous;
        this.acked.delete(previous);
        this.emit({
          type: 'checkpoint-aborted',
          id: previous,
          reason: `checkpoint ${cp.id} was proposed after it without it completing`,
        });
      }
      this.lastProposedSeen = cp.id;
      this.emit({ type: 'checkpoint-proposed', id: cp.id });
    }
    if (cp?.state === 'aborted' && cp.id > this.lastAborted) {
      this.lastAborted = cp.id;
      this.lastDecided = Math.max(this.lastDecided, cp.id);
      this.acked.delete(cp.id);
      this.emit({ type: 'checkpoint-aborted', id: cp.id, reason: cp.reason ?? '' });
    }
  }

  private maybeProduce(cp: CheckpointRecord): void {
    const me = cp.members.find((p) => p.workerId === this.workerId);
    if (me === undefined || me.epoch !== this.epochValue) return;
    if (this.acked.has(cp.id) || this.producing.has(cp.id) || this.readyAck?.id === cp.id) return;
    const produce = this.options.onCheckpoint;
    if (produce === undefined) return;
    this.producing.add(cp.id);
    withDeadline(
      produce(cp.id),
      this.opts.checkpointTimeoutMs,
      `worker ${this.workerId}'s piece of checkpoint ${cp.id}`,
    )
      .then((piece) => {
        if (!this.stopped && !this.acked.has(cp.id)) this.readyAck = { id: cp.id, piece };
      })
      .catch((err: unknown) => this.emit({ type: 'error', error: err }))
      .finally(() => this.producing.delete(cp.id));
  }

  /** Rewrites our record (next beat), with `ack` in the same atomic write. false when fenced. */
  private async beatWith(ack: { id: number; piece: unknown } | undefined): Promise<boolean> {
    if (this.myVersion === undefined) return false;
    this.beat++;
    const writes: TableWrite[] = [
      { key: memberKey(this.workerId), value: this.record('alive'), expected: this.myVersion },
    ];
    if (ack !== undefined) {
      const rec: AckRecord = {
        checkpointId: ack.id,
        workerId: this.workerId,
        epoch: this.epochValue,
        piece: ack.piece,
      };
      writes.push({ key: ackKey(ack.id, this.workerId), value: rec, expected: 'absent' });
    }
    this.stats.writes++;
    let versions: bigint[] | undefined;
    try {
      versions = await this.table.put(writes);
    } catch (err) {
      this.uncertainBeat = this.beat;
      throw err;
    }
    if (versions === undefined) {
      this.stats.conflicts++;
      // our record moved (fenced), or the ack exists already (written by a write that timed out)
      this.stats.reads++;
      const [self, existing] = await this.table.get([
        memberKey(this.workerId),
        ...(ack === undefined ? [] : [ackKey(ack.id, this.workerId)]),
      ]);
      this.uncertainBeat = undefined;
      if (!this.checkSelf(self)) return false;
      if (ack !== undefined && existing !== undefined) {
        const prior = parseAck(existing.key, existing.value);
        if (prior.epoch === this.epochValue) {
          this.acked.add(ack.id);
          if (this.readyAck === ack) this.readyAck = undefined;
        }
      }
      return true;
    }
    this.uncertainBeat = undefined;
    this.myVersion = versions[0];
    this.lastBeatAt = monotonicMs();
    if (ack !== undefined) {
      this.acked.add(ack.id);
      if (this.readyAck === ack) this.readyAck = undefined;
    }
    return true;
  }

  private async leadership(leaderEntry: VersionedRecord | undefined, now: number): Promise<void> {
    const current =
      leaderEntry === undefined ? undefined : parseLeader(leaderEntry.key, leaderEntry.value);
    this.leaderSeen = current;
    const lead = this.leader;
    if (lead !== undefined) {
      if (leaderEntry === undefined || leaderEntry.version !== lead.version) {
        this.loseLeadership(
          lead.term,
          `the leader record was taken by ${current?.workerId ?? 'nobody'} (term ${current?.term ?? '-'})`,
        );
        return;
      }
      if (now - lead.renewedAt >= this.opts.leaseMs / 3) await this.leaderWrite([]);
      return;
    }
    const stale =
      leaderEntry === undefined || current?.vacant === true
        ? Infinity
        : this.watch.observe(LEADER_KEY, leaderEntry.version, now);
    if (stale < this.opts.leaseMs) return;
    // campaign: only a member whose own record is still its own can win (same atomic write)
    const term = (current?.term ?? 0) + 1;
    const record: LeaderRecord = { workerId: this.workerId, epoch: this.epochValue, term, beat: 0 };
    if (this.myVersion === undefined) return;
    this.beat++;
    this.stats.writes++;
    let versions: bigint[] | undefined;
    try {
      versions = await this.table.put([
        { key: LEADER_KEY, value: record, expected: leaderEntry?.version ?? 'absent' },
        { key: memberKey(this.workerId), value: this.record('alive'), expected: this.myVersion },
      ]);
    } catch (err) {
      // the outcome is unknown: the next read recognises our own record by its beat
      this.uncertainBeat = this.beat;
      throw err;
    }
    if (versions === undefined) {
      this.stats.conflicts++;
      return; // someone else won, or we were fenced: the next round reads which
    }
    const [leaderVersion, memberVersion] = versions;
    if (leaderVersion === undefined || memberVersion === undefined) return;
    this.myVersion = memberVersion;
    this.lastBeatAt = monotonicMs();
    this.leader = { term, version: leaderVersion, renewedAt: monotonicMs() };
    this.leaderSeen = record;
    this.watch.clear();
    this.membersListedAt = -Infinity;
    this.pendingSince = undefined;
    this.emit({ type: 'leader-elected', workerId: this.workerId, term });
  }

  private loseLeadership(term: number, why: string): void {
    this.leader = undefined;
    this.watch.clear();
    this.emit({ type: 'leadership-lost', term, why });
  }

  /**
   * A write of the leader: `writes` plus a renewal of the leader record, atomically, so that only
   * the current leader's writes land. false when a condition failed (leadership lost, or one of
   * `writes` conflicted — the caller re-reads next round).
   */
  private async leaderWrite(writes: readonly TableWrite[]): Promise<boolean> {
    const lead = this.leader;
    if (lead === undefined || this.leaderSeen === undefined) return false;
    const record: LeaderRecord = { ...this.leaderSeen, beat: this.leaderSeen.beat + 1 };
    this.stats.writes++;
    const versions = await this.table.put([
      { key: LEADER_KEY, value: record, expected: lead.version },
      ...writes,
    ]);
    if (versions === undefined) {
      this.stats.conflicts++;
      this.stats.reads++;
      const [now] = await this.table.get([LEADER_KEY]);
      if (now === undefined || now.version !== lead.version) {
        const by = now === undefined ? undefined : parseLeader(now.key, now.value);
        this.loseLeadership(
          lead.term,
          `the leader record was taken by ${by?.workerId ?? 'nobody'} (term ${by?.term ?? '-'})`,
        );
      }
      return false;
    }
    this.leaderSeen = record;
    this.leader = {
      term: lead.term,
      version: versions[0] ?? lead.version,
      renewedAt: monotonicMs(),
    };
    return true;
  }

  /**
   * Leader: reads the whole table once (a table segment has no server-side prefix scan): the
   * members, and acks of checkpoints already decided (a late ack after an abort), removed here.
   */
  private async listMembers(now: number): Promise<void> {
    this.stats.lists++;
    const all = await this.table.list('');
    const records = all.filter((r) => r.key.startsWith(MEMBER_PREFIX));
    const view = new Map<string, MemberRecord>();
    for (const r of records) {
      const m = parseMember(r.key, r.value);
      view.set(m.workerId, m);
      if (m.state === 'alive' && m.workerId !== this.workerId) {
        this.watch.observe(r.key, r.version, now);
      }
    }
    this.membersView = view;
    this.membersListedAt = now;
    this.memberVersions = new Map(records.map((r) => [r.key, r.version]));
    const leftover = all.filter(
      (r) =>
        r.key.startsWith(ACK_PREFIX) && parseAck(r.key, r.value).checkpointId <= this.lastDecided,
    );
    if (leftover.length > 0) {
      this.stats.writes++;
      await this.table
        .remove(leftover.map((r) => ({ key: r.key, expected: r.version })))
        .catch(() => false);
    }
  }

  private memberVersions = new Map<string, bigint>();

  /** Declares dead every live member whose record has not changed for deadAfterMs. */
  private async declareDead(now: number): Promise<void> {
    for (const m of this.membersView.values()) {
      if (m.state !== 'alive' || m.workerId === this.workerId) continue;
      const key = memberKey(m.workerId);
      const version = this.memberVersions.get(key);
      if (version === undefined) continue;
      if (this.watch.observe(key, version, now) < this.opts.deadAfterMs) continue;
      const dead: MemberRecord = { ...m, state: 'dead', deadBy: this.workerId };
      if (await this.leaderWrite([{ key, value: dead, expected: version }])) {
        this.membersView.set(m.workerId, dead);
        this.watch.forget(key);
        this.emit({ type: 'member-dead', workerId: m.workerId, epoch: m.epoch });
      }
      if (this.leader === undefined) return;
    }
  }

  /** Leader: completes, aborts or keeps waiting for the pending checkpoint. */
  private async drive(cp: CheckpointRecord, cpVersion: bigint, now: number): Promise<void> {
    const lead = this.leader;
    if (lead === undefined) return;
    if (now - this.membersListedAt >= this.opts.heartbeatMs) {
      await this.listMembers(now);
      await this.declareDead(now);
      if (this.leader === undefined) return;
    }
    if (this.pendingSince?.id !== cp.id) this.pendingSince = { id: cp.id, at: now };
    this.stats.reads++;
    const entries = await this.table.get(cp.members.map((p) => ackKey(cp.id, p.workerId)));
    const acks = entries.flatMap((e) => (e === undefined ? [] : [parseAck(e.key, e.value)]));
    const abandoned = this.abandoned;
    const decision: CheckpointDecision =
      abandoned?.id === cp.id
        ? { kind: 'abort', reason: abandoned.reason }
        : decideCheckpoint({
            checkpoint: cp,
            term: lead.term,
            acks,
            members: this.membersView,
            pendingMs: now - this.pendingSince.at,
            timeoutMs: this.opts.checkpointTimeoutMs,
          });
    if (decision.kind === 'wait') return;
    let previous: CompletedRecord | undefined;
    if (decision.kind === 'complete') {
      // key groups no piece names keep the handles of the previous completed record
      this.stats.reads++;
      const [done] = await this.table.get([COMPLETED_KEY]);
      previous = done === undefined ? undefined : parseCompleted(done.key, done.value);
    }
    const writes: TableWrite[] =
      decision.kind === 'complete'
        ? [
            {
              key: CHECKPOINT_KEY,
              value: { ...cp, state: 'completed' },
              expected: cpVersion,
            },
            {
              key: COMPLETED_KEY,
              value: completedRecordOf(cp, decision.pieces, previous, this.options.keyGroups),
              expected: 'any',
            },
          ]
        : [
            {
              key: CHECKPOINT_KEY,
              value: { ...cp, state: 'aborted', reason: decision.reason },
              expected: cpVersion,
            },
          ];
    if (!(await this.leaderWrite(writes))) return;
    this.pendingSince = undefined;
    // told here at once: the next proposal overwrites the checkpoint record (an abort is only there)
    if (decision.kind === 'complete')
      this.noticeCheckpoint(undefined, writes[1]!.value as CompletedRecord);
    else this.noticeCheckpoint(writes[0]!.value as CheckpointRecord, undefined, false);
    this.lastDecided = Math.max(this.lastDecided, cp.id);
    // the acks are in the completed record now (or void): remove them, best effort
    const found = entries.filter((e): e is VersionedRecord => e !== undefined);
    if (found.length > 0) {
      this.stats.writes++;
      await this.table
        .remove(found.map((e) => ({ key: e.key, expected: e.version })))
        .catch(() => false);
    }
  }
}
