import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../../src/errors.js';
import { streamCutToText } from '../../../../src/pravega/client/stream-cut.js';
import {
  parseDataType,
  parseFlinkDuration,
  pravegaTableFactory,
  resolvePravegaTable,
  type ChangeRow,
  type ResolvedTable,
} from '../../../../src/table/index.js';

const cutOf = (scope: string, stream: string): string =>
  streamCutToText({ stream: { scope, stream }, positions: new Map([[0n, 42n]]) });

const base = {
  connector: 'pravega',
  'controller-uri': 'tcp://localhost:9090',
  scope: 'shop',
  'scan.streams': 'orders',
  'sink.stream': 'out',
  format: 'json',
};

function table(options: Record<string, string | undefined>): ResolvedTable {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined) clean[k] = v;
  return {
    name: 'cat.db.t',
    schema: {
      columns: [
        { kind: 'physical', name: 'id', type: parseDataType('BIGINT') },
        { kind: 'physical', name: 'customer', type: parseDataType('STRING') },
        {
          kind: 'metadata',
          name: 'ptr',
          type: parseDataType('BYTES'),
          key: 'event_pointer',
          virtual: true,
        },
      ],
    },
    options: clean,
  };
}

const BAD: readonly {
  readonly what: string;
  readonly use: 'source' | 'sink';
  readonly options: Record<string, string | undefined>;
  readonly message: string;
}[] = [
  {
    what: 'unknown key',
    use: 'source',
    options: { ...base, 'scan.stream': 'x' },
    message:
      "table cat.db.t: option 'scan.stream': unknown key: not an option of the pravega connector",
  },
  {
    what: 'unknown format key',
    use: 'source',
    options: { ...base, 'json.fail-on-missing': 'true' },
    message: "option 'json.fail-on-missing': unknown key: format 'json' has no such option",
  },
  {
    what: 'missing controller-uri',
    use: 'source',
    options: { ...base, 'controller-uri': undefined },
    message: "table cat.db.t: option 'controller-uri': is required but missing",
  },
  {
    what: 'missing scope',
    use: 'source',
    options: { ...base, scope: undefined },
    message: "option 'scope': is required but missing",
  },
  {
    what: 'missing format',
    use: 'source',
    options: { ...base, format: undefined },
    message: "option 'format': is required but missing",
  },
  {
    what: 'unknown format',
    use: 'source',
    options: { ...base, format: 'xml' },
    message: "'format' = 'xml' is not a known format",
  },
  {
    what: 'missing scan.streams for a source',
    use: 'source',
    options: { ...base, 'scan.streams': undefined },
    message: "option 'scan.streams': is required but missing",
  },
  {
    what: 'missing sink.stream for a sink',
    use: 'sink',
    options: { ...base, 'sink.stream': undefined },
    message: "option 'sink.stream': is required but missing",
  },
  {
    what: 'bad controller uri',
    use: 'source',
    options: { ...base, 'controller-uri': 'http://x:9090' },
    message:
      "option 'controller-uri': expected tcp://host:port, tls://host:port or embedded:<directory>, got 'http://x:9090'",
  },
  {
    what: 'bad execution type',
    use: 'source',
    options: { ...base, 'scan.execution.type': 'bounded' },
    message: "option 'scan.execution.type': expected one of 'streaming', 'batch', got 'bounded'",
  },
  {
    what: 'bad semantic',
    use: 'sink',
    options: { ...base, 'sink.semantic': 'exactly_once' },
    message:
      "option 'sink.semantic': expected one of 'at-least-once', 'exactly-once', 'best-effort', got 'exactly_once'",
  },
  {
    what: 'bad boolean',
    use: 'source',
    options: { ...base, 'security.validate-hostname': 'yes' },
    message: "option 'security.validate-hostname': expected true or false, got 'yes'",
  },
  {
    what: 'bad integer',
    use: 'source',
    options: { ...base, 'scan.reader-group.max-outstanding-checkpoint-request': '0' },
    message:
      "option 'scan.reader-group.max-outstanding-checkpoint-request': expected a positive integer, got '0'",
  },
  {
    what: 'bad duration',
    use: 'source',
    options: { ...base, 'scan.reader-group.refresh.interval': '3 parsecs' },
    message: "option 'scan.reader-group.refresh.interval': expected a duration such as '30 s'",
  },
  {
    what: 'start cuts count ≠ streams',
    use: 'source',
    options: { ...base, 'scan.streams': 'a;b', 'scan.start-streamcuts': 'UNBOUNDED' },
    message: "option 'scan.start-streamcuts': 1 stream cut(s) for 2 stream(s) in 'scan.streams'",
  },
  {
    what: 'end cuts count ≠ streams',
    use: 'source',
    options: { ...base, 'scan.end-streamcuts': 'UNBOUNDED;UNBOUNDED' },
    message: "option 'scan.end-streamcuts': 2 stream cut(s) for 1 stream(s)",
  },
  {
    what: 'a cut of another stream',
    use: 'source',
    options: { ...base, 'scan.start-streamcuts': cutOf('shop', 'payments') },
    message: "option 'scan.start-streamcuts': item 1: stream cut",
  },
  {
    what: 'a cut that is not one',
    use: 'source',
    options: { ...base, 'scan.end-streamcuts': 'not-a-cut' },
    message: "option 'scan.end-streamcuts': item 1: not a stream cut",
  },
  {
    what: 'cuts without streams',
    use: 'sink',
    options: { ...base, 'scan.streams': undefined, 'scan.start-streamcuts': 'UNBOUNDED' },
    message: "option 'scan.start-streamcuts': needs 'scan.streams'",
  },
  {
    what: 'stream listed twice',
    use: 'source',
    options: { ...base, 'scan.streams': 'orders;shop/orders' },
    message: "option 'scan.streams': shop/orders is listed twice",
  },
  {
    what: 'bad stream name',
    use: 'source',
    options: { ...base, 'scan.streams': 'a/b/c' },
    message: "option 'scan.streams': 'a/b/c' is not a stream name",
  },
  {
    what: 'empty list item',
    use: 'source',
    options: { ...base, 'scan.streams': 'a;;b' },
    message: "option 'scan.streams': an item of the ';'-separated list is empty",
  },
  {
    what: 'reader-group key on a batch scan',
    use: 'source',
    options: { ...base, 'scan.execution.type': 'batch', 'scan.reader-group.name': 'rg' },
    message: "option 'scan.reader-group.name': applies to 'scan.execution.type' = 'streaming' only",
  },
  {
    what: 'lease without exactly-once',
    use: 'sink',
    options: { ...base, 'sink.txn-lease-renewal.interval': '30 s' },
    message:
      "option 'sink.txn-lease-renewal.interval': applies to 'sink.semantic' = 'exactly-once' only (it is 'at-least-once')",
  },
  {
    what: 'lease beyond the server bounds',
    use: 'sink',
    options: { ...base, 'sink.semantic': 'exactly-once', 'sink.txn-lease-renewal.interval': '1 h' },
    message: "option 'sink.txn-lease-renewal.interval': must be between 10 s and 600 s",
  },
  {
    what: 'watermark propagation',
    use: 'sink',
    options: { ...base, 'sink.enable.watermark-propagation': 'true' },
    message: "option 'sink.enable.watermark-propagation': 'true' is not supported",
  },
  {
    what: 'routing key not a string column',
    use: 'sink',
    options: { ...base, 'sink.routing-key.field.name': 'id' },
    message:
      "option 'sink.routing-key.field.name': 'id' is not a STRING/VARCHAR/CHAR physical column",
  },
  {
    what: 'auth type without token',
    use: 'source',
    options: { ...base, 'security.auth-type': 'Basic' },
    message: "option 'security.auth-token': is required with 'security.auth-type'",
  },
  {
    what: 'auth token without type',
    use: 'source',
    options: { ...base, 'security.auth-token': 'abc' },
    message: "option 'security.auth-type': is required with 'security.auth-token'",
  },
  {
    what: 'unsupported auth type',
    use: 'source',
    options: { ...base, 'security.auth-type': 'Bearer', 'security.auth-token': 'abc' },
    message: "option 'security.auth-type': 'Bearer' is not supported",
  },
  {
    what: 'auth token not base64 user:password',
    use: 'source',
    options: { ...base, 'security.auth-type': 'Basic', 'security.auth-token': 'bm9jb2xvbg==' },
    message: "option 'security.auth-token': expected the base64 of 'user:password'",
  },
  {
    what: 'bad reader group name',
    use: 'source',
    options: { ...base, 'scan.reader-group.name': 'a b' },
    message: "option 'scan.reader-group.name':",
  },
  {
    what: 'bad scope name',
    use: 'source',
    options: { ...base, scope: 'sh op' },
    message: "option 'scope':",
  },
  {
    what: 'json options in conflict',
    use: 'source',
    options: { ...base, 'json.fail-on-missing-field': 'true', 'json.ignore-parse-errors': 'true' },
    message:
      "option 'json.fail-on-missing-field': cannot be true together with 'json.ignore-parse-errors' = true",
  },
];

describe('pravega table options', () => {
  it.each(BAD)('refuses $what', async ({ use, options, message }) => {
    const t = table(options);
    const check = async (): Promise<void> => {
      pravegaTableFactory.validate(t, use);
      // format values are checked when the codec is made (before the job starts)
      const { findFormat } = await import('../../../../src/table/factories.js');
      const ctx = { tableName: t.name, columns: [], options: t.options };
      await findFormat(t.options['format']!, t.name).createDecoder(ctx);
    };
    const err = await check().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('CONFIG_INVALID');
    expect((err as TributaryError).message).toContain(message);
  });

  it('reads a full option set with defaults as the connector', () => {
    const start = cutOf('shop', 'orders');
    const o = resolvePravegaTable(
      table({
        ...base,
        'scan.streams': 'orders; other/payments',
        'scan.start-streamcuts': `${start};UNBOUNDED`,
        'security.auth-type': 'Basic',
        'security.auth-token': Buffer.from('admin:1111_aaaa').toString('base64'),
        'security.validate-hostname': 'false',
        'security.trust-store': '/etc/ca.pem',
        'scan.reader-group.name': 'rg1',
        'scan.reader-group.refresh.interval': '500 ms',
        'sink.semantic': 'exactly-once',
        'sink.txn-lease-renewal.interval': '2 min',
        'sink.routing-key.field.name': 'customer',
      }),
      'source',
    );
    expect(o.connection).toEqual({
      controllerUri: 'tcp://localhost:9090',
      credentials: { username: 'admin', password: '1111_aaaa' },
      trustedCa: '/etc/ca.pem',
      validateHostname: false,
    });
    expect(o.scan.streams.map((s) => s.stream)).toEqual([
      { scope: 'shop', stream: 'orders' },
      { scope: 'other', stream: 'payments' },
    ]);
    expect(o.scan.streams[0]!.start?.positions.get(0n)).toBe(42n);
    expect(o.scan.streams[1]!.start).toBeUndefined();
    expect(o.scan).toMatchObject({
      executionType: 'streaming',
      readerGroupName: 'rg1',
      maxOutstandingCheckpoints: 3,
      refreshIntervalMs: 500,
      eventReadTimeoutMs: 1000,
      checkpointInitiateTimeoutMs: 5000,
    });
    expect(o.sink).toEqual({
      stream: { scope: 'shop', stream: 'out' },
      semantic: 'exactly-once',
      leaseMs: 120_000,
      routingKeyField: 'customer',
    });
  });

  it('takes embedded: URIs and gives the client only what is set', () => {
    const o = resolvePravegaTable(table({ ...base, 'controller-uri': 'embedded:./data' }), 'sink');
    expect(o.connection).toEqual({ controllerUri: 'embedded:./data' });
    expect(o.sink.semantic).toBe('at-least-once');
  });

  it('is bounded in batch mode or with an end cut on every stream', () => {
    expect(pravegaTableFactory.isBounded(table(base))).toBe(false);
    expect(pravegaTableFactory.isBounded(table({ ...base, 'scan.execution.type': 'batch' }))).toBe(
      true,
    );
    expect(
      pravegaTableFactory.isBounded(
        table({ ...base, 'scan.end-streamcuts': cutOf('shop', 'orders') }),
      ),
    ).toBe(true);
  });

  it('refuses an unknown metadata key and a written read-only metadata column', () => {
    const t = table(base);
    const withMeta = (virtual: boolean, key: string): ResolvedTable => ({
      ...t,
      schema: {
        columns: [
          ...t.schema.columns.filter((c) => c.kind !== 'metadata'),
          { kind: 'metadata', name: 'm', type: parseDataType('BYTES'), key, virtual },
        ],
      },
    });
    expect(() => pravegaTableFactory.validate(withMeta(true, 'offset'), 'source')).toThrow(
      "column 'm': 'offset' is not a metadata key of the pravega connector (it has: event_pointer)",
    );
    expect(() => pravegaTableFactory.validate(withMeta(false, 'event_pointer'), 'sink')).toThrow(
      "metadata 'event_pointer' is read-only; declare it VIRTUAL",
    );
    expect(() =>
      pravegaTableFactory.validate(withMeta(false, 'event_pointer'), 'source'),
    ).not.toThrow();
  });
});

describe('Flink durations', () => {
  it.each([
    ['500 ms', 500],
    ['500ms', 500],
    ['30 s', 30_000],
    ['30s', 30_000],
    ['1 min', 60_000],
    ['2 minutes', 120_000],
    ['2h', 7_200_000],
    ['1 d', 86_400_000],
    ['1000', 1000],
    ['3 SECONDS', 3000],
  ])('%s = %i ms', (text, ms) => {
    expect(parseFlinkDuration(text)).toBe(ms);
  });

  it.each(['', 's', '1.5 s', '-1 s', '3 fortnights', '1 s 2'])('refuses %j', (text) => {
    expect(parseFlinkDuration(text)).toBeUndefined();
  });
});

describe('pravega table sink', () => {
  it('refuses a changelog into an insert-only format, naming the table and format', async () => {
    const { StreamEnvironment } = await import('../../../../src/runtime/stream-environment.js');
    const { SequenceSource } = await import('../../../../src/source/sequence/sequence-source.js');
    const env = StreamEnvironment.create();
    const changes = env
      .fromSource(SequenceSource.bounded(0, 3))
      .map((n): ChangeRow => ({ kind: '-D', row: { id: n, customer: 'c' } }));
    await expect(pravegaTableFactory.createSink(changes, table(base), true)).rejects.toThrow(
      "table cat.db.t: option 'format': 'json' writes inserts only, but the query produces updates and deletes",
    );
  });
});
