import { describe, expect, it } from 'vitest';
import { ExchangeSink } from '../../../../src/cluster/exchange/exchange-sink.js';
import { jsonSerializer } from '../../../../src/pravega/client/serializer.js';
import type { SinkWriterContext } from '../../../../src/sink/sink.js';
import type { ClusterConnectorContext } from '../../../../src/source/source.js';
import { transactionWriterId } from '../../../../src/twophase/two-phase-commit-sink.js';

function cluster(registered: [string, string][]): ClusterConnectorContext {
  return {
    workerId: 'w-7',
    isLeader: () => false,
    readerJoined: () => undefined,
    mayAcquire: () => true,
    completedThrough: () => 0,
    groupStart: () => 'fresh',
    transactionStream: (uid, stream) => registered.push([uid, stream]),
    checkpointSenders: () => Promise.resolve(undefined),
  };
}

function context(connectors: SinkWriterContext['connectors']): SinkWriterContext {
  return {
    jobName: 'orders',
    sinkUid: 'by-customer-send',
    subtask: 1,
    parallelism: 2,
    attempt: 0,
    checkpointing: { intervalMs: 500, timeoutMs: 60_000, minPauseMs: 0, tolerableFailures: 3 },
    connectors,
    runId: 'run',
    restoredState: undefined,
    allowDuplicates: false,
    warn: () => undefined,
  };
}

const edge = {
  scope: 'shop',
  edgeUid: 'by-customer',
  segments: 4,
  keyGroups: 16,
  keySelector: (v: { customer: string }) => v.customer,
  serializer: jsonSerializer<{ customer: string }>(),
  pravega: undefined,
  transactionLeaseMs: 120_000,
  eventTime: true,
};

describe('exchange sender in a cluster (docs/scale-out.md §6, item 3)', () => {
  it("names its edge's stream as a transaction stream, so the leader settles a dead worker's transactions", () => {
    const registered: [string, string][] = [];
    new ExchangeSink(edge).createWriter(context({ cluster: cluster(registered) }));
    expect(registered).toEqual([['by-customer-send', 'shop/_tributary-x-orders-by-customer']]);
  });

  it('registers nothing outside a cluster', () => {
    expect(() => new ExchangeSink(edge).createWriter(context({}))).not.toThrow();
  });

  it("puts the worker id into the transactions' writer id (workers run the same subtask numbers)", () => {
    const registered: [string, string][] = [];
    expect(transactionWriterId(context({ cluster: cluster(registered) }), 1)).toBe(
      'orders-by-customer-send-1@w-7',
    );
    expect(transactionWriterId(context({ cluster: cluster(registered) }))).toBe(
      'orders-by-customer-send@w-7',
    );
    expect(transactionWriterId(context({}), 1)).toBe('orders-by-customer-send-1');
  });
});
