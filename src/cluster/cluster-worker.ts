import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CheckpointData } from '../checkpoint/checkpoint-data.js';
import { TributaryError, errorMessage, hasErrorCode } from '../errors.js';
import { acquireClient, type SharedClient } from '../pravega/client/client-registry.js';
import { Checkpoint } from '../pravega/client/reader-group/checkpoint.js';
import { ReaderGroup } from '../pravega/client/reader-group/reader-group.js';
import { bytesSerializer } from '../pravega/client/serializer.js';
import { parseStreamName } from '../pravega/client/stream-name.js';
import { TransactionalEventStreamWriter } from '../pravega/client/transaction.js';
import { segmentName } from '../pravega/protocol/segment-name.js';
import type {
  ExternalCheckpointControl,
  ExternalCheckpointing,
} from '../runtime/external-checkpoints.js';
import type { JobHandle } from '../runtime/job-handle.js';
import type { StreamEnvironment } from '../runtime/stream-environment.js';
import type { ClusterConnectorContext } from '../source/source.js';
import { ClusterMember, type ClusterEvent } from './cluster-member.js';
import { SegmentCoordinationTable } from './coordination-table.js';
import { readClusterView, type ClusterView } from './cluster-view.js';
import {
  COMPLETED_KEY,
  MEMBER_PREFIX,
  parseCompleted,
  parseMember,
  type CompletedRecord,
  type MemberRecord,
  type Participant,
} from './records.js';
import { beatSince } from './liveness.js';
import { asWorkerPiece, pieceOf, type WorkerPiece } from './worker-piece.js';
import type { KeyGroupRange, StateHandle } from './state-handles.js';
import { loadKeyGroupStates, type KeyGroupStates } from './key-group-state.js';
import { normalizeRanges } from './key-group-ownership.js';
import { exchangeEdgesOf } from './exchange/key-by-exchange.js';
import { EDGE_STREAM_PREFIX } from './exchange/names.js';
import { removeEdgeStream } from './exchange/edge.js';
import {
  DirectoryStateStore,
  StreamStateStore,
  type ClusterStateStore,
} from './cluster-state-store.js';

/**
 * One worker process of a job run by several (docs/scale-out.md §10, the stateless slice): it
 * runs the whole job graph with its readers in the job's shared reader groups (reader ids
 * `<workerId>-<subtask>`), and is a {@link ClusterMember} of the job's coordination table.
 *
 * - The leader proposes checkpoint N in the table and starts it in its own job: its source
 *   enumerators initiate the reader groups' checkpoint N, whose markers reach every worker's
 *   readers. Every worker starts N in its job when it sees the proposal (or acks that arrived
 *   with the markers wait for it).
 * - When a worker's tasks all acked N, its piece (pre-committed and open transactions; the
 *   reader-group checkpoints, from the leader) is written as its ack; N is complete when the
 *   leader completed it in the table, and only then does the worker's job commit.
 * - Readers give segments to other workers only at a marker whose checkpoint completed (their
 *   output up to there is committed for good), so a segment never changes hands over data a
 *   dead worker could take with it.
 * - A dead worker (declared by the leader): once no checkpoint is pending, the leader takes its
 *   readers offline at their positions in the last completed checkpoint (never before where they
 *   took a segment over), commits the transactions of its piece there and aborts the one open
 *   at it. The survivors' readers pick the segments up; nothing else restarts.
 */

export interface ClusterWorkerOptions {
  /** The Pravega controller (or client config) holding the coordination table. */
  readonly pravega: string | Readonly<Record<string, unknown>>;
  /** Scope of the coordination table `_tributary-cluster-<job>`. */
  readonly scope: string;
  /** Default: host-pid-random (a restart with the same id takes the next epoch). */
  readonly workerId?: string;
  /** How often the leader proposes a checkpoint. Default 1000 ms. */
  readonly checkpointIntervalMs?: number;
  readonly heartbeatMs?: number;
  readonly deadAfterMs?: number;
  /** Default 20 s. */
  readonly checkpointTimeoutMs?: number;
  /** Create `scope` if it is missing (default false: it must exist). */
  readonly createScope?: boolean;
  /** Every cluster event this worker sees, and what it did about dead workers. */
  readonly onEvent?: (event: ClusterWorkerEvent) => void;
}

export type ClusterWorkerEvent =
  | ClusterEvent
  | {
      readonly type: 'worker-started';
      readonly workerId: string;
      readonly epoch: number;
      readonly start: 'fresh' | 'join' | 'restore';
    }
  | {
      /** a worker of a job with event time across an exchange: its readers may take segments now */
      readonly type: 'worker-acquiring';
      readonly workerId: string;
      readonly checkpointId: number;
    }
  | {
      readonly type: 'dead-worker-handled';
      readonly workerId: string;
      readonly epoch: number;
      readonly readers: readonly string[];
      readonly committed: number;
      readonly aborted: number;
      readonly completedId: number | undefined;
    }
  | {
      /** readers of no live member taken offline by the leader (see sweepOrphanReaders) */
      readonly type: 'orphan-readers-offline';
      readonly readers: readonly string[];
      readonly completedId: number | undefined;
    }
  | {
      /** a keyed job's local checkpoint stored before its ack (what the state costs) */
      readonly type: 'state-written';
      readonly checkpointId: number;
      /** `checkpoint.dir …` or `state stream …` */
      readonly where: string;
      /** body bytes stored (incremental pieces a shared directory holds are not counted) */
      readonly bytes: number;
      readonly ms: number;
    };

/** How long a worker's source readers may take to join their reader groups. */
const JOIN_TIMEOUT_MS = 60_000;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

export class ClusterWorker {
  private member!: ClusterMember;
  private readonly workerIdValue: string;
  private readonly joinedReaders = new Set<string>();
  private expectedReaders = Infinity;
  private allJoined: (() => void) | undefined;
  /** the worker is a member: its readers may take segments */
  private acquiring = false;
  /** joined; its readers take segments once a proposed checkpoint names it (noteProposal) */
  private awaitingProposal = false;
  private jobHandle!: JobHandle;
  private control: ExternalCheckpointControl | undefined;
  private completedThroughId = 0;
  private lastCompleted: CompletedRecord | undefined;
  private readonly abortedIds = new Map<number, string>();
  private readonly waiters = new Map<number, Waiter>();
  /** the checkpoint this worker proposed as leader, until decided */
  private pending: { id: number; at: number } | undefined;
  private readonly deadQueue: { workerId: string; epoch: number }[] = [];
  private nextOrphanSweepAt = 0;
  /** `group|reader` of online readers whose worker is no live member → first seen (ms) */
  private readonly orphanReadersSeen = new Map<string, number>();
  /** sink uid → `scope/stream` of its transactions */
  private readonly streams = new Map<string, string>();
  /** `scope/group` of the job's reader groups */
  private readonly groups = new Set<string>();
  private groupStartValue: 'fresh' | 'join' | ReadonlyMap<string, string> = 'join';
  private nextCheckpointAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private rounding = false;
  private closed = false;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly deadAfterMs: number;

  private shared: SharedClient | undefined;
  private table!: SegmentCoordinationTable;
  private startValue: 'fresh' | 'join' | 'restore' = 'join';
  /**
   * A keyed job (one worker for now, docs/scale-out.md §6): its keyed state of every cluster
   * checkpoint goes to its state store — this worker's folder of `checkpoint.dir`, or without one
   * the job's state stream in Pravega (set once connected) — named in its piece.
   */
  private readonly keyed:
    | {
        store: ClusterStateStore | undefined;
        dir: string | undefined;
        maxParallelism: number;
        /** uids of the job's sources: their list state (positions) is never restored */
        sources: readonly string[];
        /**
         * The job keys its records only after one exchange edge: its keyed state is owned per
         * key group by whoever reads the edge segment carrying it, moving with the segment
         * (docs/scale-out.md §6 item 2); `receivers` readers of this worker say what they own.
         */
        exchange: ExchangeKeyed | undefined;
        /** why it runs on one worker only; undefined: its keyed state moves between workers */
        oneWorker: string | undefined;
      }
    | undefined;
  /** exchange jobs: checkpoint id → receiving reader → the key groups it owns at the marker */
  private readonly ownedAt = new Map<number, Map<string, readonly (readonly [number, number])[]>>();
  /** ids of recent checkpoints seen completed (a frozen segment is given back only at one) */
  private readonly completedIds = new Set<number>();
  /** members recorded `alive` that did not beat while this keyed worker watched (killed) */
  private readonly stale = new Map<string, MemberRecord>();
  /** retention of the state folders, one run after the other */
  private retaining: Promise<void> = Promise.resolve();

  private constructor(
    readonly jobName: string,
    private readonly options: ClusterWorkerOptions,
    env: StreamEnvironment,
  ) {
    this.workerIdValue =
      options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const dir = env.options.checkpoint.dir;
    this.keyed = isKeyed(env)
      ? {
          store: dir === undefined ? undefined : new DirectoryStateStore(dir, this.workerIdValue),
          dir,
          maxParallelism: env.options.maxParallelism,
          sources: env
            .describe()
            .vertices.flatMap((v) => (v.source !== undefined ? [v.source.uid] : [])),
          exchange: exchangeKeyed(env),
          oneWorker: whyOneWorker(env),
        }
      : undefined;
    this.intervalMs = options.checkpointIntervalMs ?? 1000;
    this.timeoutMs = options.checkpointTimeoutMs ?? 20_000;
    this.deadAfterMs = options.deadAfterMs ?? 10 * (options.heartbeatMs ?? 500);
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0) {
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `cluster option checkpointIntervalMs must be a positive number of ms, got ${String(options.checkpointIntervalMs)}`,
      );
    }
  }

  /** Joins the job's cluster and starts the job graph of `env` as one of its workers. */
  static async start(
    env: StreamEnvironment,
    jobName: string,
    options: ClusterWorkerOptions,
  ): Promise<ClusterWorker> {
    refuseKeyedJob(env, jobName, 'one');
    const worker = new ClusterWorker(jobName, options, env);
    await worker.connect();
    try {
      await worker.readTable();
      worker.jobHandle = env.execute(jobName, {
        external: worker.externalCheckpointing(),
        stopOnSignals: false,
      });
      await worker.join();
      return worker;
    } catch (err) {
      await worker.shared?.release();
      throw err;
    }
  }

  /**
   * Starts the job graph of `env` at once as one worker of job `jobName` and joins the cluster
   * in the background (what `execute(name, { workers })` does): the handle is returned before
   * anything is read; a failure to read the table fails the job before it starts, a failure to
   * join fails it. `ready` resolves once this worker is a member (its readers may take segments).
   */
  static launch(
    env: StreamEnvironment,
    jobName: string,
    options: ClusterWorkerOptions,
  ): { readonly worker: ClusterWorker; readonly ready: Promise<void> } {
    refuseKeyedJob(env, jobName, 'several');
    const worker = new ClusterWorker(jobName, options, env);
    let connected = false;
    worker.jobHandle = env.execute(jobName, {
      external: worker.externalCheckpointing(async () => {
        await worker.connect();
        connected = true;
        await worker.readTable();
      }),
      stopOnSignals: false,
    });
    const ready = worker.join().catch(async (err: unknown) => {
      if (connected) await worker.shutdown();
      throw err;
    });
    ready.catch(() => undefined);
    return { worker, ready };
  }

  private async connect(): Promise<void> {
    const shared = await acquireClient(this.options.pravega);
    this.shared = shared;
    if (this.options.createScope === true) await shared.client.createScope(this.options.scope);
    this.table = SegmentCoordinationTable.forJob(
      shared.client.segmentStore,
      this.options.scope,
      this.jobName,
    );
    if (this.keyed !== undefined && this.keyed.store === undefined)
      this.keyed.store = new StreamStateStore(shared.client, this.options.scope, this.jobName);
  }

  /** The keyed job's state store (set once connected). */
  private stateStore(): ClusterStateStore {
    const store = this.keyed?.store;
    if (store === undefined)
      throw new TributaryError('ILLEGAL_STATE', `worker ${this.workerIdValue} has no state store`);
    return store;
  }

  get workerId(): string {
    return this.workerIdValue;
  }

  /**
   * A keyed job's key groups `groups` as of the latest completed cluster checkpoint, read from
   * its state store within `timeoutMs` (`key-group-state.ts`): for the reader that has just
   * acquired the edge segment carrying them. Undefined when no checkpoint completed yet.
   */
  keyGroupsAsOfLatest(
    groups: KeyGroupRange,
    timeoutMs: number,
  ): Promise<KeyGroupStates | undefined> {
    return loadKeyGroupStates(this.member, this.stateStore(), groups, timeoutMs);
  }

  get epoch(): number {
    return this.member.epoch;
  }

  get isLeader(): boolean {
    return this.member.isLeader;
  }

  /** The job running in this worker (events, metrics; awaitable). */
  get handle(): JobHandle {
    return this.jobHandle;
  }

  /** The job's workers as the coordination table holds them now (two table calls). */
  describeCluster(): Promise<ClusterView> {
    if (this.shared === undefined)
      return Promise.reject(
        new TributaryError('ILLEGAL_STATE', `worker ${this.workerIdValue} is not connected`),
      );
    return readClusterView(this.table, this.jobName);
  }

  /**
   * The workers of job `jobName` whose coordination table is in `scope`, read from outside (the
   * table is never created). Rejects with NO_SUCH_SEGMENT when the job has no table there.
   */
  static async describe(
    pravega: ClusterWorkerOptions['pravega'],
    scope: string,
    jobName: string,
  ): Promise<ClusterView> {
    const shared = await acquireClient(pravega);
    try {
      const table = SegmentCoordinationTable.existing(shared.client.segmentStore, scope, jobName);
      try {
        return await readClusterView(table, jobName);
      } catch (err) {
        if (TributaryError.is(err, 'NO_SUCH_SEGMENT'))
          throw new TributaryError(
            'NO_SUCH_SEGMENT',
            `no scaled-out job ${JSON.stringify(jobName)} in scope ${scope}: it has no coordination table (${table.where}); check the job name and --cluster-scope`,
            { cause: err },
          );
        throw err;
      }
    } finally {
      await shared.release();
    }
  }

  private get client(): SharedClient['client'] {
    if (this.shared === undefined)
      throw new TributaryError('ILLEGAL_STATE', `worker ${this.workerIdValue} is not connected`);
    return this.shared.client;
  }

  /** The highest checkpoint complete across the workers that this worker committed with. */
  get completedThrough(): number {
    return this.completedThroughId;
  }

  /** How the job's reader groups start, from the table as it is before this worker joins. */
  private async readTable(): Promise<void> {
    // how the job's reader groups start, from the table as it is before this worker joins
    let others = await this.liveMembers();
    if (this.keyed?.oneWorker !== undefined && others.length > 0)
      others = await this.refuseRunning(others);
    const [done] = await this.table.get([COMPLETED_KEY]);
    const completed = done === undefined ? undefined : parseCompleted(done.key, done.value);
    this.lastCompleted = completed;
    this.completedThroughId = completed?.id ?? 0;
    if (others.length === 0 && completed !== undefined) {
      // the whole job starts over: from its last completed checkpoint, as one process would
      this.startValue = 'restore';
      const groups = new Map<string, string>();
      for (const p of completed.pieces) {
        for (const [g, text] of Object.entries(asWorkerPiece(p.piece).readerGroups))
          groups.set(g, text);
      }
      this.groupStartValue = groups;
      for (const p of completed.pieces) await this.settleTransactions(asWorkerPiece(p.piece));
    } else if (others.length === 0) {
      this.startValue = 'fresh';
      this.groupStartValue = 'fresh';
    }
  }

  /** Members recorded `alive`, other than this worker. */
  private async liveMembers(): Promise<MemberRecord[]> {
    return (await this.table.list(MEMBER_PREFIX))
      .map((r) => parseMember(r.key, r.value))
      .filter((m) => m.state === 'alive' && m.workerId !== this.workerIdValue);
  }

  /**
   * A keyed job runs on one worker for now: members recorded `alive` are watched for
   * `deadAfterMs`; any that beats meanwhile is a running worker and this one is refused; the
   * others were killed (their records stay `alive`) and the job starts over without them.
   * @returns the members still to count as running (none)
   */
  private async refuseRunning(alive: MemberRecord[]): Promise<MemberRecord[]> {
    const heartbeatMs = this.options.heartbeatMs ?? 500;
    const quietMs = this.options.deadAfterMs ?? 10 * heartbeatMs;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const again = await this.liveMembers();
    const running = beatSince(alive, again);
    if (running.length > 0) throw this.keyedRefusal(running);
    for (const m of again) this.stale.set(m.workerId, m);
    return [];
  }

  private keyedRefusal(running: readonly MemberRecord[]): TributaryError {
    return new TributaryError(
      'CONFIG_INVALID',
      `job "${this.jobName}" keys its records and runs on one worker only for now, and worker(s) ${running.map((m) => `${m.workerId} (pid ${m.pid} on ${m.host})`).join(', ')} run it: ${this.keyed?.oneWorker ?? ''} (docs/scale-out.md §6); worker ${this.workerIdValue} is not started`,
      { details: { workers: running.map((m) => m.workerId) } },
    );
  }

  /** A keyed job restarted as a whole: the keyed state of its last completed checkpoint. */
  private async restorePoint(): Promise<CheckpointData | undefined> {
    const keyed = this.keyed;
    const completed = this.lastCompleted;
    if (keyed === undefined) return undefined;
    const store = this.stateStore();
    await store.open();
    if (this.startValue !== 'restore' || completed === undefined) return undefined;
    // after an exchange edge every key group comes with its segment (adopted when acquired)
    if (keyed.exchange !== undefined) return undefined;
    // list state of user operators too: not the sources' (positions are the reader groups') nor
    // the sinks' whose transactions the cluster settled (named in the pieces)
    const clusters = new Set(keyed.sources);
    for (const p of completed.pieces)
      for (const s of asWorkerPiece(p.piece).sinks) clusters.add(s.uid);
    return store.load(
      completed,
      { start: 0, end: keyed.maxParallelism },
      (uid) => !clusters.has(uid),
    );
  }

  private externalCheckpointing(prepare?: () => Promise<void>): ExternalCheckpointing {
    return {
      ...(prepare !== undefined ? { prepare } : {}),
      ...(this.keyed !== undefined ? { restore: () => this.restorePoint() } : {}),
      ...(this.keyed?.store?.piecesDir !== undefined
        ? { stateDir: this.keyed.store.piecesDir }
        : {}),
      // the leader triggers checkpoints every intervalMs (e.g. an exchange checks its lease)
      checkpointing: { intervalMs: this.intervalMs, timeoutMs: this.timeoutMs },
      connectors: { cluster: this.connectorContext() },
      attach: (control) => {
        this.control = control;
      },
      externalCompletion: (id, data) => this.completeHere(id, data),
    };
  }

  /**
   * Once the job runs: its readers join their groups holding no segment; then this worker joins
   * the table, and only then do they take segments.
   */
  private async join(): Promise<void> {
    const me = this.workerIdValue;
    const ended = this.jobHandle.result.then(
      () => 'ended' as const,
      () => 'ended' as const,
    );
    // its readers join their groups holding no segment; then this worker joins the table, and
    // only then do they take segments: every reader in a group is in every checkpoint from then
    // on, and the leader can act for whatever this worker reads
    const expected = this.jobHandle
      .describe()
      .vertices.filter((v) => v.source !== undefined)
      .reduce((n, v) => n + v.parallelism, 0);
    const joined = new Promise<'joined'>((resolve) => (this.allJoined = () => resolve('joined')));
    if (this.joinedReaders.size >= expected) this.allJoined?.();
    this.expectedReaders = expected;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), JOIN_TIMEOUT_MS);
    });
    const outcome = await Promise.race([joined, ended, timeout]);
    clearTimeout(timer);
    if (outcome !== 'joined') {
      if (outcome === 'timeout') {
        const error = new TributaryError(
          'JOB_FAILED',
          `worker ${me}: its ${expected} source readers did not join their reader groups within ${JOIN_TIMEOUT_MS} ms`,
        );
        // the job fails with this error (a launched worker's handle reports it)
        if (this.control !== undefined) this.control.fail(error);
        else await this.jobHandle.cancel().catch(() => undefined);
        await this.jobHandle.result.catch(() => undefined);
        throw error;
      }
      const result = await this.jobHandle.result.catch((err: unknown) => err);
      throw new TributaryError(
        'JOB_FAILED',
        `worker ${me}: the job ended before its readers joined: ${errorMessage(result)}`,
        { cause: result },
      );
    }
    this.member = await ClusterMember.join(this.table, {
      workerId: me,
      ...(this.options.heartbeatMs !== undefined ? { heartbeatMs: this.options.heartbeatMs } : {}),
      ...(this.options.deadAfterMs !== undefined ? { deadAfterMs: this.options.deadAfterMs } : {}),
      checkpointTimeoutMs: this.timeoutMs,
      ...(this.keyed?.exchange !== undefined ? { keyGroups: this.keyed.maxParallelism } : {}),
      info: { job: this.jobName },
      onEvent: (event) => this.onClusterEvent(event),
    });
    if (this.keyed?.oneWorker !== undefined) {
      // two keyed workers started at once both see the other now: both give up (safe)
      const running = beatSince(this.stale.values(), await this.liveMembers());
      if (running.length > 0) {
        const error = this.keyedRefusal(running);
        this.member.halt();
        if (this.control !== undefined) this.control.fail(error);
        else await this.jobHandle.cancel().catch(() => undefined);
        await this.jobHandle.result.catch(() => undefined);
        throw error;
      }
    }
    // event time across an exchange: only once a proposal names this worker (noteProposal)
    if (this.keyed?.exchange?.eventTime === true) this.awaitingProposal = true;
    else this.acquiring = true;
    this.jobHandle.events$.subscribe((event) => {
      // the leader's own part of its checkpoint failed: do not wait for the timeout
      if (
        event.type === 'checkpoint-aborted' &&
        this.member.isLeader &&
        this.pending?.id === event.checkpointId
      ) {
        this.member.abandonCheckpoint(event.checkpointId, `the leader's part: ${event.reason}`);
      }
    });
    void ended.then(() => this.shutdown());
    this.timer = setInterval(() => void this.round(), Math.min(100, this.intervalMs));
    this.emit({
      type: 'worker-started',
      workerId: me,
      epoch: this.member.epoch,
      start: this.startValue,
    });
  }

  private connectorContext(): ClusterConnectorContext {
    return {
      workerId: this.workerIdValue,
      isLeader: () => this.member?.isLeader === true,
      readerJoined: (group, readerId) => {
        this.joinedReaders.add(`${group}/${readerId}`);
        if (this.joinedReaders.size >= this.expectedReaders) this.allJoined?.();
      },
      mayAcquire: () => this.acquiring,
      completedThrough: () => this.completedThroughId,
      groupStart: (group) => {
        this.groups.add(group);
        const s = this.groupStartValue;
        if (typeof s === 'string') return s;
        const text = s.get(group);
        return text === undefined ? 'fresh' : { checkpoint: text };
      },
      transactionStream: (uid, stream) => {
        this.streams.set(uid, stream);
      },
      checkpointOutcome: (id) => this.checkpointOutcome(id),
      checkpointSenders: (id, timeoutMs) => this.checkpointSenders(id, timeoutMs),
      ...(this.keyed?.exchange !== undefined
        ? {
            keyGroupStates: (groups, timeoutMs) => this.keyGroupsAsOfLatest(groups, timeoutMs),
            keyGroupsOwned: (reader, checkpointId, ranges) => {
              let readers = this.ownedAt.get(checkpointId);
              if (readers === undefined)
                this.ownedAt.set(
                  checkpointId,
                  (readers = new Map<string, readonly (readonly [number, number])[]>()),
                );
              readers.set(reader, ranges);
            },
          }
        : {}),
    };
  }

  /** This worker and the participants of checkpoint `id`, once it saw the proposal. */
  private async checkpointSenders(
    id: number,
    timeoutMs: number,
  ): Promise<
    { self: { workerId: string; epoch: number }; participants: readonly Participant[] } | undefined
  > {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const member = this.member as ClusterMember | undefined;
      const participants = member?.participantsOf(id);
      if (member !== undefined && participants !== undefined)
        return { self: { workerId: this.workerIdValue, epoch: member.epoch }, participants };
      if (this.closed || Date.now() >= until) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Jobs with event time across an exchange: this worker's readers take segments only once a
   * proposed checkpoint names it, so that every transaction it sends records in is of a
   * checkpoint whose senders include it (receivers wait for exactly those; segment-senders.ts).
   */
  private noteProposal(id: number): void {
    const member = this.member as ClusterMember | undefined;
    if (this.acquiring || !this.awaitingProposal || member === undefined) return;
    const me = member.participantsOf(id)?.find((p) => p.workerId === this.workerIdValue);
    if (me !== undefined && me.epoch === member.epoch) {
      this.acquiring = true;
      this.emit({ type: 'worker-acquiring', workerId: this.workerIdValue, checkpointId: id });
    }
  }

  /** Whether checkpoint `id` itself completed, never will, or is not decided yet. */
  private checkpointOutcome(id: number): 'completed' | 'void' | 'pending' {
    if (this.completedIds.has(id)) return 'completed';
    if (this.abortedIds.has(id)) return 'void';
    // a later one completed: this one did not (at most one is pending at a time), or it was
    // missed among the events — either way nothing is given back at its marker
    if ((this.lastCompleted?.id ?? 0) > id) return 'void';
    return 'pending';
  }

  /**
   * The key groups this worker's state of exchange checkpoint `id` holds: what its receiving
   * readers owned at the marker. Every reader reports at its marker, before its barrier.
   */
  private ownedKeyGroups(id: number, receivers: number): [number, number][] {
    const readers = this.ownedAt.get(id);
    for (const key of [...this.ownedAt.keys()]) if (key <= id) this.ownedAt.delete(key);
    if ((readers?.size ?? 0) < receivers) {
      throw new TributaryError(
        'CHECKPOINT_FAILED',
        `worker ${this.workerIdValue}: ${readers?.size ?? 0} of its ${receivers} exchange receivers said which key groups they own at checkpoint ${id}`,
      );
    }
    return normalizeRanges([...readers!.values()].flat());
  }

  private emit(event: ClusterWorkerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // an observer must not break the worker
    }
  }

  private onClusterEvent(event: ClusterEvent): void {
    this.emit(event);
    switch (event.type) {
      case 'checkpoint-proposed':
        this.noteProposal(event.id);
        this.control?.trigger(event.id);
        break;
      case 'checkpoint-completed': {
        const record = event.record;
        this.lastCompleted = record;
        this.completedIds.add(record.id);
        for (const old of this.completedIds)
          if (old < record.id - 100) this.completedIds.delete(old);
        if (this.keyed !== undefined) this.retainState(record);
        if (this.pending !== undefined && this.pending.id <= record.id) this.pending = undefined;
        for (const id of [...this.waiters.keys()]) if (id <= record.id) this.decide(id);
        break;
      }
      case 'checkpoint-aborted':
        this.abortedIds.set(event.id, event.reason);
        if (this.abortedIds.size > 100) {
          this.abortedIds.delete(this.abortedIds.keys().next().value as number);
        }
        if (this.pending?.id === event.id) this.pending = undefined;
        this.control?.abort(event.id, `cluster checkpoint aborted: ${event.reason}`);
        this.decide(event.id);
        break;
      case 'member-dead':
        this.deadQueue.push({ workerId: event.workerId, epoch: event.epoch });
        // its readers may be in the pending checkpoint's reader-group checkpoint even if it is
        // no participant (it joined the table after the proposal): that one would wait for them
        // until its timeout, and the dead worker is handled only once nothing is pending
        if (this.pending !== undefined) {
          this.member.abandonCheckpoint(
            this.pending.id,
            `worker ${event.workerId} died while it was pending`,
          );
        }
        break;
      case 'leader-elected':
        if (event.workerId === this.member?.workerId) this.pending = undefined;
        break;
      case 'leadership-lost':
        this.pending = undefined;
        break;
      case 'fenced':
        // declared dead while alive: its readers and transactions are the leader's now
        void this.jobHandle?.cancel();
        break;
      default:
        break;
    }
  }

  /**
   * Retention of keyed state: what no completed checkpoint needs (this worker's files, and — a
   * keyed job runs on one worker — other workers' folders the completed checkpoint does not name;
   * the state stream below what it names).
   */
  private retainState(record: CompletedRecord): void {
    const store = this.keyed?.store;
    if (store === undefined) return;
    this.retaining = this.retaining
      // other workers' folders: not while workers own key groups side by side (exchange jobs)
      .then(() =>
        store.retain(
          record,
          this.member?.isLeader === true &&
            (this.keyed?.exchange === undefined || this.keyed.dir === undefined),
        ),
      )
      .catch((err: unknown) => this.emit({ type: 'error', error: err }));
  }

  /**
   * Checkpoint `id` acked by every task here: its keyed state (a keyed job) written to its
   * state store, then acked in the table; waits for the leader.
   */
  private async completeHere(id: number, data: CheckpointData): Promise<void> {
    const keyed = this.keyed;
    let state: StateHandle[] | undefined;
    if (keyed !== undefined) {
      const store = this.stateStore();
      const started = performance.now();
      const owned =
        keyed.exchange === undefined
          ? [[0, keyed.maxParallelism] as [number, number]]
          : this.ownedKeyGroups(id, keyed.exchange.receivers);
      // a worker that owns no key group at this checkpoint names no state
      if (owned.length > 0) {
        const handle = await store.write(data, owned);
        state = [handle];
        this.emit({
          type: 'state-written',
          checkpointId: id,
          where: store.where,
          bytes: handle.bytes,
          ms: performance.now() - started,
        });
      }
    }
    const piece: WorkerPiece = pieceOf(data, this.streams, state);
    this.member.ack(id, piece);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(
          new TributaryError(
            'TIMEOUT',
            `cluster checkpoint ${id} was neither completed nor aborted within ${2 * this.timeoutMs} ms`,
          ),
        );
      }, 2 * this.timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.decide(id);
    });
  }

  /** Settles the wait for `id` if the table has decided it. */
  private decide(id: number): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    const done = this.lastCompleted;
    const aborted = this.abortedIds.get(id);
    let outcome: 'completed' | Error | undefined;
    if (done !== undefined && done.id === id) {
      const mine = done.pieces.some(
        (p) => p.workerId === this.member.workerId && p.epoch === this.member.epoch,
      );
      outcome = mine
        ? 'completed'
        : new TributaryError(
            'CHECKPOINT_FAILED',
            `cluster checkpoint ${id} completed without worker ${this.member.workerId} (it joined after it was proposed)`,
          );
    } else if (aborted !== undefined) {
      outcome = new TributaryError('CHECKPOINT_FAILED', `cluster checkpoint ${id}: ${aborted}`);
    } else if (done !== undefined && done.id > id) {
      outcome = new TributaryError(
        'CHECKPOINT_FAILED',
        `cluster checkpoint ${id} was superseded by ${done.id}`,
      );
    }
    if (outcome === undefined) return;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    if (outcome === 'completed') {
      this.completedThroughId = Math.max(this.completedThroughId, id);
      waiter.resolve();
    } else waiter.reject(outcome);
  }

  /** The leader's duties: dead workers first (no checkpoint pending), then the next checkpoint. */
  private async round(): Promise<void> {
    if (this.rounding || this.closed) return;
    this.rounding = true;
    try {
      const member = this.member;
      if (!member.isLeader || this.control === undefined) return;
      if (this.pending !== undefined) {
        // decided by the table (events); a lost event must not stall the job for good
        if (Date.now() - this.pending.at < 2 * this.timeoutMs) return;
        this.pending = undefined;
      }
      while (this.deadQueue.length > 0) {
        await this.handleDead(this.deadQueue[0]!);
        this.deadQueue.shift();
      }
      if (Date.now() >= this.nextOrphanSweepAt) {
        this.nextOrphanSweepAt = Date.now() + this.deadAfterMs;
        await this.sweepOrphanReaders();
      }
      if (Date.now() < this.nextCheckpointAt) return;
      this.nextCheckpointAt = Date.now() + this.intervalMs;
      let id: number;
      try {
        id = await member.triggerCheckpoint();
      } catch (err) {
        // one still pending (an earlier term's, aborted at the next round), or leadership lost
        if (hasErrorCode(err, 'CHECKPOINT_LIMIT', 'CHECKPOINT_FAILED', 'ILLEGAL_STATE')) return;
        throw err;
      }
      this.pending = { id, at: Date.now() };
      this.noteProposal(id);
      this.control?.trigger(id);
    } catch (err) {
      this.emit({ type: 'error', error: err });
    } finally {
      this.rounding = false;
    }
  }

  /**
   * A dead worker's readers go offline at the last completed checkpoint, its transactions there
   * are committed, the one open there aborted (docs/scale-out.md §7).
   */
  private async handleDead(dead: { workerId: string; epoch: number }): Promise<void> {
    const completed = await this.member.latestCompleted();
    const readers = await this.readersOffline(completed, (worker) => worker === dead.workerId);
    const own = completed?.pieces.find(
      (p) => p.workerId === dead.workerId && p.epoch === dead.epoch,
    );
    const settled =
      own === undefined
        ? { committed: 0, aborted: 0 }
        : await this.settleTransactions(asWorkerPiece(own.piece));
    this.emit({
      type: 'dead-worker-handled',
      workerId: dead.workerId,
      epoch: dead.epoch,
      readers,
      ...settled,
      completedId: completed?.id,
    });
  }

  /**
   * Takes offline, in every reader group of the job, the online readers of the workers `whose`
   * picks, at their positions in the completed checkpoint (where they took their segments over
   * when it names none). @returns the readers taken offline
   */
  private async readersOffline(
    completed: CompletedRecord | undefined,
    whose: (workerId: string, reader: string, group: string) => boolean,
  ): Promise<string[]> {
    const checkpoints = new Map<string, Checkpoint>();
    for (const p of completed?.pieces ?? []) {
      for (const [group, text] of Object.entries(asWorkerPiece(p.piece).readerGroups)) {
        checkpoints.set(group, Checkpoint.parse(text));
      }
    }
    const readers: string[] = [];
    // the groups the completed checkpoint names too: a leader that has just started may not have
    // registered its own sources' groups yet, and a dead reader left online keeps its segments
    for (const scoped of new Set([...this.groups, ...checkpoints.keys()])) {
      const slash = scoped.indexOf('/');
      const group = await ReaderGroup.get(
        this.client,
        scoped.slice(0, slash),
        scoped.slice(slash + 1),
      );
      const checkpoint = checkpoints.get(scoped);
      const positions = checkpoint === undefined ? 'where-acquired' : segmentPositions(checkpoint);
      for (const reader of await group.getOnlineReaders()) {
        const worker = workerOfReader(reader);
        if (worker === undefined || !whose(worker, reader, scoped)) continue;
        if (await group.readerOffline(reader, positions)) readers.push(reader);
      }
    }
    return readers;
  }

  /**
   * Leader, every `deadAfterMs`: readers online in the job's groups whose worker is no live
   * member — it died after its readers joined a group but before it joined the table (or a
   * leader died between declaring it dead and handling it) — are taken offline once seen so for
   * 3 × `deadAfterMs` (a starting worker joins the table within that). Left online, such a reader
   * would hold every reader-group checkpoint until the group's own reader timeout (10 min). It
   * never owns a segment it could have read from (readers take segments only once their worker
   * is a member), so only its place in the group goes; its transactions, if any, were settled
   * when it was declared dead.
   */
  private async sweepOrphanReaders(): Promise<void> {
    const live = new Set(
      (await this.member.members()).filter((m) => m.state === 'alive').map((m) => m.workerId),
    );
    const now = Date.now();
    const graceMs = 3 * this.deadAfterMs;
    const seen = this.orphanReadersSeen;
    const stillOrphan = new Set<string>();
    const due = new Set<string>();
    for (const scoped of this.groups) {
      const slash = scoped.indexOf('/');
      const group = await ReaderGroup.get(
        this.client,
        scoped.slice(0, slash),
        scoped.slice(slash + 1),
      );
      for (const reader of await group.getOnlineReaders()) {
        const worker = workerOfReader(reader);
        if (worker === undefined || live.has(worker)) continue;
        const key = `${scoped}|${reader}`;
        stillOrphan.add(key);
        const first = seen.get(key) ?? now;
        seen.set(key, first);
        if (now - first >= graceMs) due.add(key);
      }
    }
    for (const key of [...seen.keys()]) if (!stillOrphan.has(key)) seen.delete(key);
    if (due.size === 0) return;
    const completed = await this.member.latestCompleted();
    const readers = await this.readersOffline(
      completed,
      (worker, reader, group) => !live.has(worker) && due.has(`${group}|${reader}`),
    );
    for (const key of due) seen.delete(key);
    if (readers.length > 0)
      this.emit({ type: 'orphan-readers-offline', readers, completedId: completed?.id });
  }

  /** Commits a piece's pre-committed transactions (idempotent) and aborts its open ones. */
  private settleTransactions(piece: WorkerPiece): Promise<{ committed: number; aborted: number }> {
    return settleTransactions(this.client, piece);
  }

  private async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new TributaryError('CANCELLED', `worker ended before checkpoint ${id} completed`));
    }
    this.waiters.clear();
    // to the others this worker now looks dead: the leader takes its readers offline at the last
    // completed checkpoint and settles its transactions (a `left` record would leave them be)
    this.member?.halt();
    await this.shared?.release();
    this.shared = undefined;
  }

  /**
   * Ends this worker: its job is cancelled and it stops heart-beating; the leader hands its
   * segments to the others after `deadAfterMs` (as for a crash: its uncommitted output is void).
   */
  async close(): Promise<void> {
    await this.jobHandle.cancel().catch(() => undefined);
    await this.shutdown();
  }

  /**
   * The job ended for good (every worker closed): deletes its reader groups and its
   * coordination table. Call from one process, after the workers have ended.
   */
  static async purge(
    pravega: ClusterWorkerOptions['pravega'],
    scope: string,
    jobName: string,
    groups: readonly string[],
  ): Promise<void> {
    const shared = await acquireClient(pravega);
    try {
      for (const scoped of groups) {
        const slash = scoped.indexOf('/');
        try {
          const group = await ReaderGroup.get(
            shared.client,
            scoped.slice(0, slash),
            scoped.slice(slash + 1),
          );
          await group.delete();
        } catch (err) {
          if (!TributaryError.is(err, 'READER_GROUP_NOT_FOUND')) throw err;
        }
      }
      await SegmentCoordinationTable.forJob(shared.client.segmentStore, scope, jobName)
        .destroy()
        .catch((err: unknown) => {
          throw new TributaryError(
            'INTERNAL',
            `deleting the coordination table of ${jobName} failed: ${errorMessage(err)}`,
            { cause: err },
          );
        });
    } finally {
      await shared.release();
    }
  }

  /**
   * Ends a scaled-out job for good once every worker has stopped (`tributary workers <job>
   * --purge`): the transactions of its last completed checkpoint are committed (a worker may have
   * stopped before committing its own) and the open ones there aborted, then its reader groups
   * and its coordination table are deleted — a later run starts from the sources' configured
   * start. Refused with ILLEGAL_STATE while a worker still beats: members recorded `alive` are
   * watched for `quietMs` (default 6 s, above the default heartbeat of 500 ms × 10) and any whose
   * beat moves is running.
   */
  static async endJob(
    pravega: ClusterWorkerOptions['pravega'],
    scope: string,
    jobName: string,
    options: {
      readonly quietMs?: number;
      /** the job's shared `checkpoint.dir`: its workers' keyed state there is removed too */
      readonly stateDir?: string;
    } = {},
  ): Promise<{
    readerGroups: string[];
    committed: number;
    aborted: number;
    checkpoint: number | undefined;
    /** the folder of the workers' keyed state removed, if there was one */
    stateRemoved: string | undefined;
    /** the job's state stream (`scope/stream`) sealed and deleted, if there was one */
    stateStreamRemoved: string | undefined;
    /** the internal streams of its exchange edges (`scope/stream`) sealed and deleted */
    edgeStreamsRemoved: string[];
  }> {
    const quietMs = options.quietMs ?? 6_000;
    const shared = await acquireClient(pravega);
    try {
      const table = SegmentCoordinationTable.existing(shared.client.segmentStore, scope, jobName);
      const first = await ClusterWorker.describe(pravega, scope, jobName);
      const alive = first.members.filter((m) => m.state === 'alive');
      if (alive.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, quietMs));
        const again = await readClusterView(table, jobName);
        const running = beatSince(
          alive,
          again.members.filter((m) => m.state === 'alive'),
        );
        if (running.length > 0) {
          throw new TributaryError(
            'ILLEGAL_STATE',
            `job ${jobName} still runs: worker(s) ${running.map((m) => `${m.workerId} (pid ${m.pid} on ${m.host})`).join(', ')} beat within ${quietMs} ms; stop every worker first (Ctrl-C), then purge`,
          );
        }
      }
      const [done] = await table.get([COMPLETED_KEY]);
      const completed = done === undefined ? undefined : parseCompleted(done.key, done.value);
      let committed = 0;
      let aborted = 0;
      const groups = new Set<string>();
      const edges = new Set<string>();
      for (const p of completed?.pieces ?? []) {
        const piece = asWorkerPiece(p.piece);
        const settled = await settleTransactions(shared.client, piece);
        committed += settled.committed;
        aborted += settled.aborted;
        for (const g of Object.keys(piece.readerGroups)) groups.add(g);
        // an exchange edge's stream is a sender's transaction stream
        for (const s of piece.sinks)
          if (parseStreamName(s.stream).stream.startsWith(EDGE_STREAM_PREFIX)) edges.add(s.stream);
      }
      await ClusterWorker.purge(pravega, scope, jobName, [...groups]);
      for (const edge of edges)
        await removeEdgeStream(shared.client, parseStreamName(edge), `ending job ${jobName}`);
      // the state last: while the table names it, a restart may still need it
      const stateRemoved =
        options.stateDir === undefined
          ? undefined
          : await DirectoryStateStore.remove(options.stateDir);
      const stateStreamRemoved = await StreamStateStore.remove(shared.client, scope, jobName);
      return {
        readerGroups: [...groups],
        committed,
        aborted,
        checkpoint: completed?.id,
        stateRemoved,
        stateStreamRemoved,
        edgeStreamsRemoved: [...edges],
      };
    } finally {
      await shared.release();
    }
  }

  /** `scope/group` of the job's reader groups this worker uses. */
  get readerGroups(): string[] {
    return [...this.groups];
  }
}

/** Every segment of a reader-group checkpoint (qualified name) → offset. */
/** The worker of a reader id `<workerId>-<subtask>`, or undefined for another reader. */
function workerOfReader(reader: string): string | undefined {
  const m = /^(.+)-\d+$/.exec(reader);
  return m?.[1];
}

function segmentPositions(checkpoint: Checkpoint): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [stream, segments] of checkpoint.positions) {
    const slash = stream.indexOf('/');
    for (const [id, offset] of segments) {
      out.set(segmentName(stream.slice(0, slash), stream.slice(slash + 1), id), offset);
    }
  }
  return out;
}

function isKeyed(env: StreamEnvironment): boolean {
  return env.describe().edges.some((e) => e.partitioning === 'hash');
}

/**
 * The job's records are keyed only right after one exchange edge (every hash edge leaves the
 * operator that unwraps what the edge's receivers read): its keyed state can be owned per key
 * group across workers. Undefined otherwise.
 */
interface ExchangeKeyed {
  readonly uid: string;
  readonly receivers: number;
  readonly eventTime: boolean;
  readonly bounded: boolean;
}

function exchangeKeyed(env: StreamEnvironment): ExchangeKeyed | undefined {
  const graph = env.describe();
  const hash = graph.edges.filter((e) => e.partitioning === 'hash');
  if (hash.length === 0) return undefined;
  const exchanges = exchangeEdgesOf(env);
  const edgeOf = (vertexId: number) => {
    const vertex = graph.vertices.find((v) => v.id === vertexId);
    return exchanges.find((x) => vertex?.operators.some((o) => o.uid === x.unwrapUid));
  };
  const used = new Set(hash.map((e) => edgeOf(e.from)));
  if (used.size !== 1 || used.has(undefined)) return undefined;
  const edge = [...used][0]!;
  const receiving = graph.vertices.find((v) => v.source?.uid === `${edge.uid}-receive`);
  return receiving === undefined
    ? undefined
    : {
        uid: edge.uid,
        receivers: receiving.parallelism,
        eventTime: edge.eventTime,
        bounded: edge.bounded,
      };
}

/**
 * Why a keyed job runs on one worker only, or undefined when its keyed state can be spread over
 * several (keyed only right after one exchange edge, whose input does not end).
 */
function whyOneWorker(env: StreamEnvironment): string | undefined {
  const exchange = exchangeKeyed(env);
  if (exchange === undefined)
    return 'a keyed job runs on several workers only when it keys its records right after one keyByExchange edge, whose segments carry the keyed state from worker to worker';
  if (exchange.bounded)
    return `exchange ${exchange.uid} ends (its input is bounded), and the end of an edge is counted per process: the first worker whose senders end would seal it under the others`;
  return undefined;
}

/**
 * Several workers each run the whole graph: a keyBy would split a key's records (and its state)
 * over the workers, and keyed state cannot move between workers yet (docs/scale-out.md §6). So a
 * keyed job runs on one worker only (`--join`, `ClusterWorker.start`; a second is refused when it
 * starts), with its keyed state in its state store (the job's state stream in Pravega, or with
 * `checkpoint.dir` every worker's folder there; named in its piece); `execute(name, { workers: N >
 * 1 })` refuses it at once.
 */
export function refuseKeyedJob(
  env: StreamEnvironment,
  jobName: string,
  workers: 'one' | 'several',
): void {
  const graph = env.describe();
  const keyed = graph.edges.find((e) => e.partitioning === 'hash');
  if (keyed === undefined) return;
  // keyed only after one exchange edge: the state moves with the edge's segments
  const why = whyOneWorker(env);
  if (why === undefined) return;
  const into = graph.vertices.find((v) => v.id === keyed.to);
  const what = `job "${jobName}" keys its records (keyBy into ${into?.name ?? `vertex ${keyed.to}`})`;
  if (workers === 'several') {
    throw new TributaryError(
      'CONFIG_INVALID',
      `${what}: ${why} (docs/scale-out.md §6); run it with one worker (--join, or without --workers)`,
    );
  }
}

/**
 * The transactions of a worker's piece in a completed checkpoint: those it pre-committed are
 * committed (idempotent), the one it had open is aborted.
 */
async function settleTransactions(
  client: SharedClient['client'],
  piece: WorkerPiece,
): Promise<{ committed: number; aborted: number }> {
  let committed = 0;
  let aborted = 0;
  for (const sink of piece.sinks) {
    // not the client's public API, which refuses the `_` names of an exchange edge's stream
    const writer = new TransactionalEventStreamWriter(
      parseStreamName(sink.stream),
      client.controller,
      client.segmentStore,
      bytesSerializer,
    );
    try {
      for (const txnId of sink.commit) {
        await writer.resumeTxn(txnId).commit();
        committed++;
      }
      for (const txnId of sink.open) {
        try {
          await writer.resumeTxn(txnId).abort();
          aborted++;
        } catch (err) {
          // never begun on the server, or gone already
          if (!hasErrorCode(err, 'TXN_NOT_FOUND', 'TXN_STATE')) throw err;
        }
      }
    } finally {
      await writer.close();
    }
  }
  return { committed, aborted };
}
