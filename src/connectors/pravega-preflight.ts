import { TributaryError } from '../errors.js';
import { acquireClient, type SharedClient } from '../pravega/client/client-registry.js';
import { LeaseTableEntry } from '../pravega/client/lease-table.js';
import type { StreamId } from '../pravega/controller/types.js';
import { LeaseJobLockProvider, type LeaseRecord, type LeaseStore } from '../runtime/job-lock.js';
import type { PreflightContext, PreflightResult } from '../source/source.js';

/**
 * What the Pravega source and sink check before a job's first task starts: the connection works,
 * every scope and stream they use exists. They offer the job lease in a table segment of the
 * scope of their first stream (see runtime/job-lock.ts), and keep the client open for the job's
 * lifetime (the tasks share it; the embedded store is not opened twice).
 */
export async function pravegaPreflight(
  ctx: PreflightContext,
  what: string,
  config: unknown,
  streams: readonly StreamId[],
): Promise<PreflightResult> {
  const connection = config ?? ctx.connectors.pravega;
  const shared = await acquireClient(connection);
  try {
    const controller = shared.client.controller;
    const scopes = [...new Set(streams.map((s) => s.scope))];
    for (const scope of scopes) {
      if (!(await controller.scopeExists(scope))) {
        throw new TributaryError(
          'SCOPE_NOT_FOUND',
          `${what}: scope "${scope}" does not exist on ${shared.client.uri}; create it first (client.createScope('${scope}'))`,
          { details: { scope, uid: ctx.uid } },
        );
      }
    }
    for (const stream of streams) {
      if (!(await controller.streamExists(stream))) {
        throw new TributaryError(
          'STREAM_NOT_FOUND',
          `${what}: stream "${stream.scope}/${stream.stream}" does not exist on ${shared.client.uri}; create it first (client.createStream('${stream.scope}/${stream.stream}', …))`,
          { details: { stream: `${stream.scope}/${stream.stream}`, uid: ctx.uid } },
        );
      }
    }
  } catch (err) {
    await shared.release();
    throw err;
  }
  const scope = streams[0]?.scope;
  return {
    hold: () => shared.release(),
    ...(scope === undefined ? {} : { lock: pravegaJobLock(shared, connection, scope) }),
  };
}

function pravegaJobLock(shared: SharedClient, connection: unknown, scope: string) {
  return new LeaseJobLockProvider(async (jobName): Promise<LeaseStore> => {
    const own = await acquireClient(connection);
    const entry = new LeaseTableEntry<LeaseRecord>(own.client.segmentStore, scope, jobName);
    return {
      where: `${own.client.uri}: ${entry.where}`,
      read: () => entry.read(),
      create: (record) => entry.create(record),
      replace: (record, version) => entry.replace(record, version as bigint),
      remove: (version) => entry.remove(version as bigint),
      close: () => own.release(),
    };
  }, `${shared.client.uri}, scope ${scope}`);
}
