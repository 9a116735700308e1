import { hostname } from 'node:os';
import type { ClusterMemberView } from '../cluster/index.js';
import { processAlive } from '../runtime/job-lock.js';

/**
 * What `tributary workers` shows of a member. The table holds what each worker wrote: one that
 * was stopped (Ctrl-C) or killed stays recorded `alive` until a leader declares it dead — never,
 * when every worker stopped. On the host the listing runs on, a recorded pid that is no process
 * says more: it is shown as gone.
 */
export interface ListedMember extends ClusterMemberView {
  /** recorded alive, but on this host its process is gone */
  readonly processGone?: true;
}

export function listedMembers(
  members: readonly ClusterMemberView[],
  here: string = hostname(),
  exists: (pid: number) => boolean = processAlive,
): ListedMember[] {
  return members.map((m) =>
    m.state === 'alive' && m.host === here && !exists(m.pid) ? { ...m, processGone: true } : m,
  );
}

/** The STATE column: `alive`, `dead (by w2)`, `left`, or `alive as recorded; process 123 is gone`. */
export function stateText(m: ListedMember): string {
  if (m.processGone === true) return `alive as recorded; process ${m.pid} is gone`;
  return m.deadBy !== undefined ? `${m.state} (by ${m.deadBy})` : m.state;
}
