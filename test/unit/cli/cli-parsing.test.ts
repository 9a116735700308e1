import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { headCut, streamCutToText } from '../../../src/pravega/client/stream-cut.js';
import { intOption, parseStartPoint, parseStreamArg } from '../../../src/cli/args.js';
import { resolveController } from '../../../src/cli/connection.js';
import { checkInputOptions, LineSplitter, lineToEvent } from '../../../src/cli/ndjson.js';
import { formatBytes, formatTable } from '../../../src/cli/output.js';
import { streamConfigOf } from '../../../src/cli/commands/streams.js';
import { isUsageError } from '../../../src/cli/usage-error.js';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isUsageError(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('CLI argument parsers', () => {
  it('parses scope/stream and names the argument when it is wrong', () => {
    expect(parseStreamArg('shop/orders')).toEqual({ scope: 'shop', stream: 'orders' });
    expect(usageMessage(() => parseStreamArg('orders'))).toBe(
      '<scope/stream>: expected scope/stream, got "orders"',
    );
    expect(usageMessage(() => parseStreamArg('a/b/c'))).toMatch(/expected scope\/stream/);
    expect(usageMessage(() => parseStreamArg('shop/bad name'))).toMatch(
      /^<scope\/stream>: invalid stream name "bad name"/,
    );
  });

  it('parses whole numbers within bounds', () => {
    const segments = intOption('--segments', 1, 10);
    expect(segments('3')).toBe(3);
    expect(usageMessage(() => segments('0'))).toBe(
      '--segments: expected a whole number 1..10, got "0"',
    );
    expect(usageMessage(() => segments('2.5'))).toMatch(/whole number/);
    expect(usageMessage(() => intOption('--limit', 1)('x'))).toBe(
      '--limit: expected a whole number ≥ 1, got "x"',
    );
  });

  it('parses --from as head, tail or a cut of the same stream', () => {
    const id = { scope: 's', stream: 'x' };
    expect(parseStartPoint('head', id)).toEqual({ kind: 'head' });
    expect(parseStartPoint('tail', id)).toEqual({ kind: 'tail' });
    const cut = { stream: id, positions: new Map([[1n, 42n]]) };
    const parsed = parseStartPoint(streamCutToText(cut), id);
    expect(parsed.kind === 'cut' && parsed.cut.positions.get(1n)).toBe(42n);
    const other = streamCutToText({
      stream: { scope: 's', stream: 'y' },
      positions: new Map([[0n, 0n]]),
    });
    expect(usageMessage(() => parseStartPoint(other, id))).toBe(
      '--from: the cut belongs to s/y, not s/x',
    );
    expect(usageMessage(() => parseStartPoint('later', id))).toMatch(
      /^--from: expected head, tail or a stream cut/,
    );
    expect(typeof headCut).toBe('function');
  });

  it('chooses the controller: option, then environment, then the embedded default', () => {
    expect(resolveController('tcp://a:9090', { TRIBUTARY_CONTROLLER: 'tcp://b:9090' })).toEqual({
      config: { controllerUri: 'tcp://a:9090' },
      from: 'option',
    });
    expect(resolveController(undefined, { TRIBUTARY_CONTROLLER: 'tcp://b:9090' }).from).toBe(
      'environment',
    );
    const fallback = resolveController(undefined, {});
    expect(fallback.from).toBe('default');
    expect(fallback.config.controllerUri).toMatch(/^embedded:\/.*\.tributary-data$/);
    expect(
      resolveController('tls://c:9090', {
        TRIBUTARY_USERNAME: 'u',
        TRIBUTARY_PASSWORD: 'p',
        TRIBUTARY_TRUSTED_CA: '/ca.pem',
      }).config,
    ).toEqual({
      controllerUri: 'tls://c:9090',
      credentials: { username: 'u', password: 'p' },
      trustedCa: '/ca.pem',
    });
  });

  it('builds stream configs from the create options', () => {
    expect(streamConfigOf({ scaleFactor: 2 })).toEqual({
      scalingPolicy: { type: 'fixed', minSegments: 1 },
    });
    expect(
      streamConfigOf({ segments: 2, dataRate: 512, scaleFactor: 3, retentionBytes: 1000 }),
    ).toEqual({
      scalingPolicy: { type: 'byDataRate', targetRate: 512, scaleFactor: 3, minSegments: 2 },
      retentionPolicy: { type: 'size', minBytes: 1000n },
    });
    expect(
      usageMessage(() => streamConfigOf({ eventRate: 1, dataRate: 1, scaleFactor: 2 })),
    ).toMatch(/exclude each other/);
  });
});

describe('stdin lines to events', () => {
  it('splits chunks into lines across chunk borders, LF or CRLF', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"a":1}\r\n{"a"')).toEqual(['{"a":1}']);
    expect(splitter.push(':2}\n\n')).toEqual(['{"a":2}', '']);
    expect(splitter.push('last')).toEqual([]);
    expect(splitter.end()).toEqual(['last']);
    expect(splitter.end()).toEqual([]);
  });

  it('keeps NDJSON lines as they are and takes the routing key from a field path', () => {
    expect(lineToEvent('{"c":{"id":7}}', 1, 'ndjson', 'c.id', undefined)).toEqual({
      payload: '{"c":{"id":7}}',
      routingKey: '7',
    });
    expect(lineToEvent('  ', 2, 'ndjson', 'c', undefined)).toBeUndefined();
    expect(lineToEvent('plain text', 3, 'lines', undefined, 'k')).toEqual({
      payload: 'plain text',
      routingKey: 'k',
    });
    expect(lineToEvent('{"x":1}', 4, 'ndjson', undefined, undefined)).toEqual({
      payload: '{"x":1}',
      routingKey: undefined,
    });
  });

  it('names the line and the reason for bad input', () => {
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(TributaryError.is(err, 'ILLEGAL_ARGUMENT')).toBe(true);
        return (err as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(fail(() => lineToEvent('nope', 9, 'ndjson', undefined, undefined))).toMatch(
      /^stdin line 9 is not JSON .*use --format lines/,
    );
    expect(fail(() => lineToEvent('{"a":1}', 3, 'ndjson', 'b', undefined))).toBe(
      'stdin line 3: key field b is missing',
    );
    expect(fail(() => lineToEvent('{"b":[1]}', 4, 'ndjson', 'b', undefined))).toBe(
      'stdin line 4: key field b is not a string or number ([1])',
    );
    expect(usageMessage(() => checkInputOptions('csv', undefined))).toMatch(
      /--format: expected ndjson or lines/,
    );
    expect(usageMessage(() => checkInputOptions('lines', 'a'))).toMatch(
      /--key-field needs --format ndjson/,
    );
    expect(usageMessage(() => checkInputOptions('ndjson', 'a..b'))).toMatch(/not a field path/);
  });
});

describe('output', () => {
  it('formats tables with padded columns and a header', () => {
    expect(
      formatTable(
        ['scope', 'n'],
        [
          { scope: 'a', n: 10 },
          { scope: 'longer', n: undefined },
        ],
      ),
    ).toBe(['SCOPE   N', 'a       10', 'longer  -'].join('\n'));
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3n * 1024n * 1024n)).toBe('3.0 MiB');
  });
});
