/**
 * The `WITH` options of a `connector = 'pravega'` table, with exactly the Flink connector's keys
 * (`PravegaOptions.java`), validated with zod. Every problem is a CONFIG_INVALID naming the table
 * and the key: an unknown key, a missing required key, a wrong type or enum value, and the
 * inconsistent pairs (cuts not matching the streams, a cut of another stream, reader-group keys on
 * a batch scan, a lease without exactly-once, an auth type without its token, a routing-key field
 * that is not a string column of the table).
 */
import { z } from 'zod';
import { TributaryError, errorMessage } from '../../errors.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { parseStreamCut, type StreamCut } from '../../pravega/client/stream-cut.js';
import { MAX_TXN_LEASE_MS, MIN_TXN_LEASE_MS } from '../../pravega/client/transaction.js';
import { validateName } from '../../pravega/protocol/index.js';
import type { DeliveryGuarantee } from '../../sink/pravega/pravega-sink.js';
import type { ResolvedTable } from '../types.js';
import { DURATION_UNITS, parseFlinkDuration } from './duration.js';

/** The connector's own keys (the format's `<format>.*` keys come from the format). */
export const PRAVEGA_OPTION_KEYS = [
  'connector',
  'controller-uri',
  'scope',
  'security.auth-type',
  'security.auth-token',
  'security.validate-hostname',
  'security.trust-store',
  'scan.execution.type',
  'scan.streams',
  'scan.start-streamcuts',
  'scan.end-streamcuts',
  'scan.reader-group.name',
  'scan.reader-group.max-outstanding-checkpoint-request',
  'scan.reader-group.refresh.interval',
  'scan.event-read.timeout.interval',
  'scan.reader-group.checkpoint-initiate-timeout.interval',
  'scan.uid',
  'sink.stream',
  'sink.semantic',
  'sink.txn-lease-renewal.interval',
  'sink.enable.watermark-propagation',
  'sink.routing-key.field.name',
  'format',
] as const;

/** Keys that only a streaming scan (a reader group) uses. */
const STREAMING_ONLY_KEYS = [
  'scan.reader-group.name',
  'scan.reader-group.max-outstanding-checkpoint-request',
  'scan.reader-group.refresh.interval',
  'scan.event-read.timeout.interval',
  'scan.reader-group.checkpoint-initiate-timeout.interval',
] as const;

export interface PravegaTableOptions {
  /** What the client takes (`withPravega`): only the keys set, so equal tables share a client. */
  readonly connection: {
    readonly controllerUri: string;
    readonly credentials?: { readonly username: string; readonly password: string };
    readonly trustedCa?: string;
    readonly validateHostname?: boolean;
  };
  readonly scope: string;
  readonly format: string;
  readonly scan: {
    readonly executionType: 'streaming' | 'batch';
    /** undefined when `scan.streams` is not set (a sink-only table) */
    readonly streams: readonly {
      readonly stream: StreamId;
      readonly start?: StreamCut;
      readonly end?: StreamCut;
    }[];
    readonly readerGroupName?: string;
    readonly uid?: string;
    readonly maxOutstandingCheckpoints: number;
    /**
     * Accepted and checked for Flink DDL compatibility; Tributary's reader group has no such knobs
     * (its readers sync state between batches, reads wait at most 200 ms, and a checkpoint's
     * deadline is the job's `checkpoint.timeoutMs`).
     */
    readonly refreshIntervalMs: number;
    readonly eventReadTimeoutMs: number;
    readonly checkpointInitiateTimeoutMs: number;
  };
  readonly sink: {
    readonly stream?: StreamId;
    readonly semantic: DeliveryGuarantee;
    /** undefined: the sink's own default (twice checkpoint interval + timeout, ≥ 120 s) */
    readonly leaseMs?: number;
    readonly routingKeyField?: string;
  };
}

type Ctx = z.core.$RefinementCtx;

function bad(ctx: Ctx, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

const text = z.string().min(1, 'must not be empty');

const bool = z.string().transform((s, ctx) => {
  const v = s.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return bad(ctx, `expected true or false, got '${s}'`);
});

const positiveInt = z.string().transform((s, ctx) => {
  const n = Number(s.trim());
  if (!/^\s*\d+\s*$/.test(s) || !Number.isSafeInteger(n) || n < 1) {
    return bad(ctx, `expected a positive integer, got '${s}'`);
  }
  return n;
});

const duration = z.string().transform((s, ctx) => {
  const ms = parseFlinkDuration(s);
  if (ms === undefined) {
    return bad(
      ctx,
      `expected a duration such as '30 s', '500 ms' or '1 min' (units ${DURATION_UNITS}), got '${s}'`,
    );
  }
  return ms;
});

const oneOf = <const V extends readonly string[]>(values: V) =>
  z.string().transform((s, ctx): V[number] => {
    const v = s.trim().toLowerCase();
    if ((values as readonly string[]).includes(v)) return v;
    return bad(ctx, `expected one of ${values.map((x) => `'${x}'`).join(', ')}, got '${s}'`);
  });

const controllerUri = z.string().transform((s, ctx) => {
  const v = s.trim();
  if (/^(tcp|tls|pravega|ssl):\/\/[^/\s]+$/i.test(v)) return v;
  if (/^embedded:.+/.test(v)) return v;
  return bad(ctx, `expected tcp://host:port, tls://host:port or embedded:<directory>, got '${s}'`);
});

const schema = z.object({
  connector: z.literal('pravega'),
  'controller-uri': controllerUri,
  scope: text,
  'security.auth-type': text.optional(),
  'security.auth-token': text.optional(),
  'security.validate-hostname': bool.optional(),
  'security.trust-store': text.optional(),
  'scan.execution.type': oneOf(['streaming', 'batch'] as const).default('streaming'),
  'scan.streams': text.optional(),
  'scan.start-streamcuts': text.optional(),
  'scan.end-streamcuts': text.optional(),
  'scan.reader-group.name': text.optional(),
  'scan.reader-group.max-outstanding-checkpoint-request': positiveInt.optional(),
  'scan.reader-group.refresh.interval': duration.optional(),
  'scan.event-read.timeout.interval': duration.optional(),
  'scan.reader-group.checkpoint-initiate-timeout.interval': duration.optional(),
  'scan.uid': text.optional(),
  'sink.stream': text.optional(),
  'sink.semantic': oneOf(['at-least-once', 'exactly-once', 'best-effort'] as const).default(
    'at-least-once',
  ),
  'sink.txn-lease-renewal.interval': duration.optional(),
  'sink.enable.watermark-propagation': bool.default(false),
  'sink.routing-key.field.name': text.optional(),
  format: text,
});

type Parsed = z.output<typeof schema>;

function fail(table: string, key: string, why: string, cause?: unknown): never {
  throw new TributaryError('CONFIG_INVALID', `table ${table}: option '${key}': ${why}`, {
    ...(cause !== undefined ? { cause } : {}),
    details: { table, key },
  });
}

/** `a;b;c` (Flink's list option) → trimmed items; an empty item is an error. */
function list(table: string, key: string, value: string): string[] {
  const items = value.split(';').map((s) => s.trim());
  if (items.some((s) => s === '')) fail(table, key, `an item of the ';'-separated list is empty`);
  return items;
}

function streamId(table: string, key: string, name: string, scope: string): StreamId {
  const parts = name.split('/');
  if (parts.length > 2) fail(table, key, `'${name}' is not a stream name (stream or scope/stream)`);
  const id = parts.length === 2 ? { scope: parts[0]!, stream: parts[1]! } : { scope, stream: name };
  try {
    validateName('scope', id.scope);
    validateName('stream', id.stream);
  } catch (err) {
    fail(table, key, errorMessage(err), err);
  }
  return id;
}

function cuts(
  table: string,
  key: string,
  value: string | undefined,
  streams: readonly StreamId[],
): (StreamCut | undefined)[] {
  if (value === undefined) return streams.map(() => undefined);
  const items = list(table, key, value);
  if (items.length !== streams.length) {
    fail(
      table,
      key,
      `${items.length} stream cut(s) for ${streams.length} stream(s) in 'scan.streams': give one per stream, in the same order (UNBOUNDED for none)`,
    );
  }
  return items.map((item, i) => {
    try {
      return parseStreamCut(item, streams[i]);
    } catch (err) {
      return fail(table, key, `item ${i + 1}: ${errorMessage(err)}`, err);
    }
  });
}

function credentials(table: string, o: Parsed): { username: string; password: string } | undefined {
  const type = o['security.auth-type'];
  const token = o['security.auth-token'];
  if (type === undefined && token === undefined) return undefined;
  if (type === undefined)
    fail(table, 'security.auth-type', `is required with 'security.auth-token' (use 'Basic')`);
  if (token === undefined)
    fail(table, 'security.auth-token', `is required with 'security.auth-type'`);
  if (type.toLowerCase() !== 'basic') {
    fail(
      table,
      'security.auth-type',
      `'${type}' is not supported: the client authenticates with 'Basic' (token = base64 of user:password)`,
    );
  }
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (
    colon <= 0 ||
    Buffer.from(decoded, 'utf8').toString('base64').replace(/=+$/, '') !== token.replace(/=+$/, '')
  ) {
    fail(
      table,
      'security.auth-token',
      `expected the base64 of 'user:password' for Basic authentication`,
    );
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The options of `table` for `use`, checked. `knownFormatKeys` are the keys the table's format
 * owns (`json.ignore-parse-errors`…); `columns` (name → type root) let the routing-key field be
 * checked.
 */
export function parsePravegaOptions(
  table: ResolvedTable,
  use: 'source' | 'sink',
  knownFormatKeys: readonly string[],
  stringColumns: ReadonlySet<string>,
): PravegaTableOptions {
  const name = table.name;
  const known = new Set<string>([...PRAVEGA_OPTION_KEYS, ...knownFormatKeys]);
  for (const key of Object.keys(table.options)) {
    if (!known.has(key)) {
      const format = table.options['format'];
      const hint =
        format !== undefined && key.startsWith(`${format}.`)
          ? `format '${format}' has no such option (it has: ${knownFormatKeys.join(', ') || 'none'})`
          : `not an option of the pravega connector (see the connector's option keys)`;
      fail(name, key, `unknown key: ${hint}`);
    }
  }
  const own: Record<string, string> = {};
  for (const key of PRAVEGA_OPTION_KEYS) {
    const v = table.options[key];
    if (v !== undefined) own[key] = v;
  }
  const result = schema.safeParse(own);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '(options)');
    const missing = own[key] === undefined;
    fail(name, key, missing ? 'is required but missing' : issue.message);
  }
  const o = result.data;
  const scope = o.scope;
  try {
    validateName('scope', scope);
  } catch (err) {
    fail(name, 'scope', errorMessage(err), err);
  }

  // scan
  const batch = o['scan.execution.type'] === 'batch';
  if (batch) {
    for (const key of STREAMING_ONLY_KEYS) {
      if (o[key] !== undefined) {
        fail(
          name,
          key,
          `applies to 'scan.execution.type' = 'streaming' only (a batch scan reads without a reader group)`,
        );
      }
    }
  }
  const streamsText = o['scan.streams'];
  if (use === 'source' && streamsText === undefined) {
    fail(name, 'scan.streams', 'is required but missing (the streams the table reads)');
  }
  const ids =
    streamsText === undefined
      ? []
      : list(name, 'scan.streams', streamsText).map((s) =>
          streamId(name, 'scan.streams', s, scope),
        );
  const seen = new Set<string>();
  for (const id of ids) {
    const k = `${id.scope}/${id.stream}`;
    if (seen.has(k)) fail(name, 'scan.streams', `${k} is listed twice`);
    seen.add(k);
  }
  if (streamsText === undefined) {
    for (const key of ['scan.start-streamcuts', 'scan.end-streamcuts'] as const) {
      if (o[key] !== undefined) fail(name, key, `needs 'scan.streams' (one cut per stream)`);
    }
  }
  const starts = cuts(name, 'scan.start-streamcuts', o['scan.start-streamcuts'], ids);
  const ends = cuts(name, 'scan.end-streamcuts', o['scan.end-streamcuts'], ids);
  const rg = o['scan.reader-group.name'];
  if (rg !== undefined) {
    try {
      validateName('reader group', rg);
    } catch (err) {
      fail(name, 'scan.reader-group.name', errorMessage(err), err);
    }
  }
  const maxOutstanding = o['scan.reader-group.max-outstanding-checkpoint-request'] ?? 3;
  if (maxOutstanding > 100) {
    fail(
      name,
      'scan.reader-group.max-outstanding-checkpoint-request',
      `must be 1..100, got ${maxOutstanding}`,
    );
  }

  // sink
  const sinkText = o['sink.stream'];
  if (use === 'sink' && sinkText === undefined) {
    fail(name, 'sink.stream', 'is required but missing (the stream the table writes)');
  }
  const sinkStream =
    sinkText === undefined ? undefined : streamId(name, 'sink.stream', sinkText.trim(), scope);
  const semantic = o['sink.semantic'];
  const leaseMs = o['sink.txn-lease-renewal.interval'];
  if (leaseMs !== undefined) {
    if (semantic !== 'exactly-once') {
      fail(
        name,
        'sink.txn-lease-renewal.interval',
        `applies to 'sink.semantic' = 'exactly-once' only (it is '${semantic}')`,
      );
    }
    if (leaseMs < MIN_TXN_LEASE_MS || leaseMs > MAX_TXN_LEASE_MS) {
      fail(
        name,
        'sink.txn-lease-renewal.interval',
        `must be between ${MIN_TXN_LEASE_MS / 1000} s and ${MAX_TXN_LEASE_MS / 1000} s (the server's bounds), got ${leaseMs} ms`,
      );
    }
  }
  if (o['sink.enable.watermark-propagation']) {
    fail(
      name,
      'sink.enable.watermark-propagation',
      `'true' is not supported: the Pravega sink does not write watermarks yet; remove the key or set 'false'`,
    );
  }
  const routing = o['sink.routing-key.field.name'];
  if (routing !== undefined && !stringColumns.has(routing)) {
    fail(
      name,
      'sink.routing-key.field.name',
      `'${routing}' is not a STRING/VARCHAR/CHAR physical column of the table`,
    );
  }

  const validateHostname = o['security.validate-hostname'];
  const creds = credentials(name, o);
  const trust = o['security.trust-store'];
  return {
    connection: {
      controllerUri: o['controller-uri'],
      ...(creds ? { credentials: creds } : {}),
      ...(trust !== undefined ? { trustedCa: trust } : {}),
      ...(validateHostname === false ? { validateHostname: false } : {}),
    },
    scope,
    format: o.format,
    scan: {
      executionType: batch ? 'batch' : 'streaming',
      streams: ids.map((stream, i) => {
        const start = starts[i];
        const end = ends[i];
        return {
          stream,
          ...(start && start.positions.size > 0 ? { start } : {}),
          ...(end && end.positions.size > 0 ? { end } : {}),
        };
      }),
      ...(rg !== undefined ? { readerGroupName: rg } : {}),
      ...(o['scan.uid'] !== undefined ? { uid: o['scan.uid'] } : {}),
      maxOutstandingCheckpoints: maxOutstanding,
      refreshIntervalMs: o['scan.reader-group.refresh.interval'] ?? 3_000,
      eventReadTimeoutMs: o['scan.event-read.timeout.interval'] ?? 1_000,
      checkpointInitiateTimeoutMs:
        o['scan.reader-group.checkpoint-initiate-timeout.interval'] ?? 5_000,
    },
    sink: {
      ...(sinkStream ? { stream: sinkStream } : {}),
      semantic,
      ...(leaseMs !== undefined ? { leaseMs } : {}),
      ...(routing !== undefined ? { routingKeyField: routing } : {}),
    },
  };
}
