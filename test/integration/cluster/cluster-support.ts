import { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import {
  ClusterMember,
  SegmentCoordinationTable,
  waitUntil,
  type ClusterEvent,
  type ClusterMemberOptions,
  type CoordinationTable,
  type TableWrite,
  type VersionedRecord,
} from '../../../src/cluster/index.js';
import { TributaryError } from '../../../src/errors.js';
import type { Backend } from '../../support/backends.js';

/** Fast but not twitchy timings: a loaded machine must not declare a healthy member dead. */
export const TIMINGS = {
  heartbeatMs: 200,
  deadAfterMs: 2_500,
  leaseMs: 2_500,
  pollMs: 50,
} as const;

/** Generous deadline for every condition a test waits on. */
export const WAIT_MS = 60_000;

export interface TestMember {
  readonly member: ClusterMember;
  readonly events: ClusterEvent[];
}

/**
 * Members of one job, each on its own client where the backend allows it (the real server); the
 * embedded store has one owner per directory, so its members share the process's client.
 */
export class MemberPool {
  private readonly clients: PravegaClient[] = [];
  readonly members: TestMember[] = [];

  constructor(
    private readonly backend: Backend,
    readonly scope: string,
    readonly job: string,
  ) {}

  async table(): Promise<SegmentCoordinationTable> {
    let client: PravegaClient;
    if (this.backend.name === 'real') {
      client = await PravegaClient.connect(this.backend.uri());
      this.clients.push(client);
    } else {
      client = await this.backend.connect();
    }
    return SegmentCoordinationTable.forJob(client.segmentStore, this.scope, this.job);
  }

  async join(
    options: ClusterMemberOptions = {},
    wrap: (table: CoordinationTable) => CoordinationTable = (t) => t,
  ): Promise<TestMember> {
    const events: ClusterEvent[] = [];
    const member = await ClusterMember.join(wrap(await this.table()), {
      ...TIMINGS,
      ...options,
      onEvent: (e) => {
        events.push(e);
        options.onEvent?.(e);
      },
    });
    const joined = { member, events };
    this.members.push(joined);
    return joined;
  }

  /** The one leader among the running members, once there is exactly one. */
  async leader(among: readonly TestMember[] = this.members): Promise<TestMember> {
    let found: TestMember | undefined;
    await waitUntil(
      () => {
        const leaders = among.filter((m) => m.member.isLeader);
        found = leaders.length === 1 ? leaders[0] : undefined;
        return found !== undefined;
      },
      WAIT_MS,
      'one leader among the members',
    );
    return found!;
  }

  async close(): Promise<void> {
    for (const m of this.members) m.member.halt();
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/**
 * The real table, with replies that can be lost: while `loseReplies` is set, every put is applied
 * and then reported as a TIMEOUT, as when the connection drops after the server wrote.
 */
export class ReplyLosingTable implements CoordinationTable {
  loseReplies = 0;
  constructor(private readonly inner: CoordinationTable) {}
  get where(): string {
    return this.inner.where;
  }
  get(keys: readonly string[]): Promise<(VersionedRecord | undefined)[]> {
    return this.inner.get(keys);
  }
  async put(entries: readonly TableWrite[]): Promise<bigint[] | undefined> {
    const result = await this.inner.put(entries);
    if (this.loseReplies > 0) {
      this.loseReplies--;
      throw new TributaryError('TIMEOUT', 'reply lost (test)');
    }
    return result;
  }
  remove(keys: readonly { key: string; expected: bigint | 'any' }[]): Promise<boolean> {
    return this.inner.remove(keys);
  }
  list(prefix: string): Promise<VersionedRecord[]> {
    return this.inner.list(prefix);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
