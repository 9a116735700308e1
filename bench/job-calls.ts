import type { PravegaClient } from '../src/pravega/client/pravega-client.js';
import type { AppendSession } from '../src/pravega/segment/segment-store.js';

/**
 * Counts what a job asks of the server through one (shared) client: controller RPCs by name and
 * append blocks (with their bytes) on transaction segments and on stream segments. The counting
 * wraps the client's own objects in place (bench only); `uninstall` puts them back.
 */
export interface CallCounts {
  readonly rpcs: Map<string, number>;
  /** created transactions' segments (one per stream segment at creation) */
  txnSegments: number;
  txnAppendSessions: number;
  txnBlocks: number;
  txnBlockBytes: number;
  streamAppendSessions: number;
  streamBlocks: number;
  streamBlockBytes: number;
}

const COUNTED_RPCS = [
  'createTransaction',
  'commitTransaction',
  'abortTransaction',
  'pingTransaction',
  'checkTransactionState',
  'getCurrentSegments',
  'getSuccessors',
  'getEndpoint',
  'getDelegationToken',
] as const;

export function countCalls(client: PravegaClient): {
  counts: CallCounts;
  uninstall: () => void;
} {
  const counts: CallCounts = {
    rpcs: new Map(),
    txnSegments: 0,
    txnAppendSessions: 0,
    txnBlocks: 0,
    txnBlockBytes: 0,
    streamAppendSessions: 0,
    streamBlocks: 0,
    streamBlockBytes: 0,
  };
  const controller = client.controller as unknown as Record<string, unknown>;
  const store = client.segmentStore;
  const restore: (() => void)[] = [];
  for (const name of COUNTED_RPCS) {
    const original = controller[name] as (...args: unknown[]) => Promise<unknown>;
    const own = Object.prototype.hasOwnProperty.call(controller, name);
    controller[name] = async (...args: unknown[]) => {
      counts.rpcs.set(name, (counts.rpcs.get(name) ?? 0) + 1);
      const result = await original.apply(client.controller, args);
      if (name === 'createTransaction') {
        counts.txnSegments += (result as { segments: unknown[] }).segments.length;
      }
      return result;
    };
    restore.push(() => {
      if (own) controller[name] = original;
      else delete controller[name];
    });
  }
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(store) below
  const openAppendSession = store.openAppendSession;
  const ownOpen = Object.prototype.hasOwnProperty.call(store, 'openAppendSession');
  store.openAppendSession = async (segment, writerId, handlers) => {
    const txn = segment.includes('#transaction.');
    if (txn) counts.txnAppendSessions++;
    else counts.streamAppendSessions++;
    const session: AppendSession = await openAppendSession.call(store, segment, writerId, handlers);
    const append = session.append.bind(session);
    session.append = (data, eventCount, lastEventNumber) => {
      if (txn) {
        counts.txnBlocks++;
        counts.txnBlockBytes += data.length;
      } else {
        counts.streamBlocks++;
        counts.streamBlockBytes += data.length;
      }
      append(data, eventCount, lastEventNumber);
    };
    return session;
  };
  restore.push(() => {
    if (ownOpen) store.openAppendSession = openAppendSession;
    else delete (store as unknown as Record<string, unknown>)['openAppendSession'];
  });
  return { counts, uninstall: () => restore.forEach((r) => r()) };
}

/** One line: each count per checkpoint interval (`intervals` = checkpoints + the final one). */
export function perInterval(c: CallCounts, intervals: number): string {
  const per = (n: number) => (n / Math.max(1, intervals)).toFixed(1);
  const rpcs = [...c.rpcs].map(([name, n]) => `${name} ${per(n)}`).join(', ');
  const block = (bytes: number, blocks: number) =>
    blocks === 0 ? '-' : `${(bytes / blocks / 1024).toFixed(1)} KiB`;
  return (
    `per interval (${intervals}): ${rpcs || 'no txn RPCs'}; txn segments ${per(c.txnSegments)}, ` +
    `txn append sessions ${per(c.txnAppendSessions)}, txn blocks ${per(c.txnBlocks)} (avg ${block(c.txnBlockBytes, c.txnBlocks)}), ` +
    `stream append sessions ${per(c.streamAppendSessions)}, stream blocks ${per(c.streamBlocks)} (avg ${block(c.streamBlockBytes, c.streamBlocks)})`
  );
}
