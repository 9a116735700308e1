import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError, type ErrorCode } from '../../../src/errors.js';
import {
  PravegaClient,
  parseStreamCut,
  utf8Serializer,
  type ReaderGroup,
} from '../../../src/pravega/client/index.js';
import { openEmbeddedPravega } from '../../../src/pravega/embedded/index.js';
import { tempDir } from '../embedded/helpers.js';

/**
 * Every public entry point of the client checks its arguments before it sends anything: bad input
 * gets a typed error (ILLEGAL_ARGUMENT, INVALID_NAME or CONFIG_INVALID) whose message names the
 * argument — never a TypeError from inside, never a server round trip.
 */

type Call = (c: PravegaClient, g: ReaderGroup) => unknown;

interface Case {
  readonly entry: string;
  readonly call: Call;
  readonly code: ErrorCode;
  /** what the message must contain: the argument (or key) it names */
  readonly names: string;
}

const fixed = { scalingPolicy: { type: 'fixed', minSegments: 1 } } as const;
const long256 = 'a'.repeat(256);
const long251 = 'a'.repeat(251);
const anyValue = (v: unknown) => v as never;

/** Bad names, each with the code it must get. */
const badNames: [string, unknown, ErrorCode][] = [
  ['undefined', undefined, 'ILLEGAL_ARGUMENT'],
  ['null', null, 'ILLEGAL_ARGUMENT'],
  ['a number', 42, 'ILLEGAL_ARGUMENT'],
  ['an object', { name: 'x' }, 'ILLEGAL_ARGUMENT'],
  ['empty', '', 'INVALID_NAME'],
  ['over-long', long256, 'INVALID_NAME'],
  ["with '/'", 'a/b', 'INVALID_NAME'],
  ['with a space', 'a b', 'INVALID_NAME'],
  ['unicode', 'ünïcödé', 'INVALID_NAME'],
  ['an emoji', '😀', 'INVALID_NAME'],
  ['internal (leading _)', '_RGgroup', 'INVALID_NAME'],
];

const badStreams: [string, unknown, ErrorCode][] = [
  ['undefined', undefined, 'ILLEGAL_ARGUMENT'],
  ['a number', 7, 'ILLEGAL_ARGUMENT'],
  ['no scope', 'stream-only', 'ILLEGAL_ARGUMENT'],
  ['two slashes', 'sc/st/x', 'ILLEGAL_ARGUMENT'],
  ['empty stream part', 'sc/', 'INVALID_NAME'],
  ['empty scope part', '/st', 'INVALID_NAME'],
  ['over-long stream part', `sc/${long251}`, 'INVALID_NAME'],
  ['unicode stream part', 'sc/strëam', 'INVALID_NAME'],
  ['object without stream', { scope: 'sc' }, 'ILLEGAL_ARGUMENT'],
  ['object with empty scope', { scope: '', stream: 'st' }, 'INVALID_NAME'],
];

const badConfigs: [string, unknown, string][] = [
  ['undefined', undefined, 'config'],
  ['a string', 'fixed', 'config'],
  ['no scaling policy', {}, 'scalingPolicy'],
  ['unknown scaling type', { scalingPolicy: { type: 'bogus', minSegments: 1 } }, 'scalingPolicy'],
  ['0 segments', { scalingPolicy: { type: 'fixed', minSegments: 0 } }, 'scalingPolicy.minSegments'],
  [
    'fractional segments',
    { scalingPolicy: { type: 'fixed', minSegments: 1.5 } },
    'scalingPolicy.minSegments',
  ],
  [
    'negative target rate',
    { scalingPolicy: { type: 'byEventRate', targetRate: -1, scaleFactor: 2, minSegments: 1 } },
    'scalingPolicy.targetRate',
  ],
  [
    'scale factor 0',
    { scalingPolicy: { type: 'byDataRate', targetRate: 10, scaleFactor: 0, minSegments: 1 } },
    'scalingPolicy.scaleFactor',
  ],
  [
    'target rate past int32',
    { scalingPolicy: { type: 'byEventRate', targetRate: 2 ** 31, scaleFactor: 2, minSegments: 1 } },
    'scalingPolicy.targetRate',
  ],
  [
    'negative retention',
    { ...fixed, retentionPolicy: { type: 'time', minMillis: -1n } },
    'retentionPolicy.minMillis',
  ],
  [
    'retention as a number',
    { ...fixed, retentionPolicy: { type: 'size', minBytes: 5 } },
    'retentionPolicy.minBytes',
  ],
  [
    'retention max below min',
    { ...fixed, retentionPolicy: { type: 'time', minMillis: 10n, maxMillis: 5n } },
    'retentionPolicy.maxMillis',
  ],
  ['unknown retention type', { ...fixed, retentionPolicy: { type: 'forever' } }, 'retentionPolicy'],
  ['an empty tag', { ...fixed, tags: [''] }, 'tags.0'],
  ['an unknown key', { ...fixed, retention: 'x' }, 'retention'],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [what, value, code] of badNames) {
    out.push({
      entry: `createScope(${what})`,
      call: (c) => c.createScope(anyValue(value)),
      code,
      names: 'scope',
    });
    out.push({
      entry: `deleteScope(${what})`,
      call: (c) => c.deleteScope(anyValue(value)),
      code,
      names: 'scope',
    });
    out.push({
      entry: `createReaderGroup(scope ${what})`,
      call: (c) => c.createReaderGroup(anyValue(value), 'g2', { streams: ['sc/st'] }),
      code,
      names: 'scope',
    });
    out.push({
      entry: `createReaderGroup(name ${what})`,
      call: (c) => c.createReaderGroup('sc', anyValue(value), { streams: ['sc/st'] }),
      code,
      names: 'name',
    });
    out.push({
      entry: `getReaderGroup(name ${what})`,
      call: (c) => c.getReaderGroup('sc', anyValue(value)),
      code,
      names: 'name',
    });
    out.push({
      entry: `createReader(readerId ${what})`,
      call: (_c, g) => g.createReader(anyValue(value), utf8Serializer),
      code,
      names: 'readerId',
    });
  }
  for (const [what, value, code] of badStreams) {
    const s = anyValue(value);
    out.push({
      entry: `createStream(${what})`,
      call: (c) => c.createStream(s, fixed),
      code,
      names: 'stream',
    });
    out.push({
      entry: `updateStream(${what})`,
      call: (c) => c.updateStream(s, fixed),
      code,
      names: 'stream',
    });
    out.push({ entry: `sealStream(${what})`, call: (c) => c.sealStream(s), code, names: 'stream' });
    out.push({
      entry: `deleteStream(${what})`,
      call: (c) => c.deleteStream(s),
      code,
      names: 'stream',
    });
    out.push({
      entry: `scaleStream(${what})`,
      call: (c) => c.scaleStream(s, [0n], [[0, 1]]),
      code,
      names: 'stream',
    });
    out.push({
      entry: `createWriter(${what})`,
      call: (c) => c.createWriter(s, utf8Serializer),
      code,
      names: 'stream',
    });
    out.push({
      entry: `createTransactionalWriter(${what})`,
      call: (c) => c.createTransactionalWriter(s, utf8Serializer),
      code,
      names: 'stream',
    });
    out.push({
      entry: `scanStream(${what})`,
      call: (c) => c.scanStream(s, utf8Serializer),
      code,
      names: 'stream',
    });
    out.push({
      entry: `batchClient().listSegmentRanges(${what})`,
      call: (c) => c.batchClient().listSegmentRanges(s),
      code,
      names: 'stream',
    });
  }
  for (const [what, value, names] of badConfigs) {
    const config = anyValue(value);
    out.push({
      entry: `createStream(config ${what})`,
      call: (c) => c.createStream('sc/new', config),
      code: 'CONFIG_INVALID',
      names,
    });
    out.push({
      entry: `updateStream(config ${what})`,
      call: (c) => c.updateStream('sc/st', config),
      code: 'CONFIG_INVALID',
      names,
    });
  }
  const serializers: [string, unknown][] = [
    ['undefined', undefined],
    ['a string', 'utf8'],
    ['an object without deserialize', { serialize: () => Buffer.alloc(0) }],
  ];
  for (const [what, value] of serializers) {
    const ser = anyValue(value);
    out.push({
      entry: `createWriter(serializer ${what})`,
      call: (c) => c.createWriter('sc/st', ser),
      code: 'ILLEGAL_ARGUMENT',
      names: 'serializer',
    });
    out.push({
      entry: `createTransactionalWriter(serializer ${what})`,
      call: (c) => c.createTransactionalWriter('sc/st', ser),
      code: 'ILLEGAL_ARGUMENT',
      names: 'serializer',
    });
    out.push({
      entry: `scanStream(serializer ${what})`,
      call: (c) => c.scanStream('sc/st', ser),
      code: 'ILLEGAL_ARGUMENT',
      names: 'serializer',
    });
    out.push({
      entry: `createReader(serializer ${what})`,
      call: (_c, g) => g.createReader('r1', ser),
      code: 'ILLEGAL_ARGUMENT',
      names: 'serializer',
    });
  }
  out.push(
    {
      entry: 'createWriter(options a string)',
      call: (c) => c.createWriter('sc/st', utf8Serializer, anyValue('fast')),
      code: 'CONFIG_INVALID',
      names: 'options',
    },
    {
      entry: 'createWriter(options unknown key)',
      call: (c) => c.createWriter('sc/st', utf8Serializer, anyValue({ bogus: 1 })),
      code: 'CONFIG_INVALID',
      names: 'bogus',
    },
    {
      entry: 'createTransactionalWriter(options a number)',
      call: (c) => c.createTransactionalWriter('sc/st', utf8Serializer, anyValue(5)),
      code: 'CONFIG_INVALID',
      names: 'options',
    },
    {
      entry: 'createReaderGroup(config undefined)',
      call: (c) => c.createReaderGroup('sc', 'g3', anyValue(undefined)),
      code: 'CONFIG_INVALID',
      names: 'config',
    },
    {
      entry: 'createReaderGroup(no streams)',
      call: (c) => c.createReaderGroup('sc', 'g3', { streams: [] }),
      code: 'CONFIG_INVALID',
      names: 'streams',
    },
    {
      entry: 'scaleStream(no sealed segments)',
      call: (c) => c.scaleStream('sc/st', [], [[0, 1]]),
      code: 'ILLEGAL_ARGUMENT',
      names: 'sealedSegments',
    },
    {
      entry: 'scaleStream(numbers as segment ids)',
      call: (c) => c.scaleStream('sc/st', anyValue([0]), [[0, 1]]),
      code: 'ILLEGAL_ARGUMENT',
      names: 'sealedSegments',
    },
    {
      entry: 'scaleStream(inverted range)',
      call: (c) => c.scaleStream('sc/st', [0n], [[0.6, 0.2]]),
      code: 'ILLEGAL_ARGUMENT',
      names: 'newRanges',
    },
    {
      entry: 'scaleStream(range past 1)',
      call: (c) => c.scaleStream('sc/st', [0n], [[0, 2]]),
      code: 'ILLEGAL_ARGUMENT',
      names: 'newRanges',
    },
    {
      entry: 'scaleStream(negative timeout)',
      call: (c) => c.scaleStream('sc/st', [0n], [[0, 1]], -1),
      code: 'ILLEGAL_ARGUMENT',
      names: 'timeoutMs',
    },
    {
      entry: 'scanStream(from not a Map)',
      call: (c) => c.scanStream('sc/st', utf8Serializer, anyValue({ 0: 0 })),
      code: 'ILLEGAL_ARGUMENT',
      names: 'from',
    },
    {
      entry: 'scanStream(from with number offsets)',
      call: (c) => c.scanStream('sc/st', utf8Serializer, anyValue(new Map([[0n, 5]]))),
      code: 'ILLEGAL_ARGUMENT',
      names: 'from',
    },
    {
      entry: 'listSegmentRanges(fromCut a string)',
      call: (c) =>
        c.batchClient().listSegmentRanges({ scope: 'sc', stream: 'st' }, anyValue('head')),
      code: 'ILLEGAL_ARGUMENT',
      names: 'fromCut',
    },
    {
      entry: 'listSegmentRanges(toCut of another stream)',
      call: (c) =>
        c.batchClient().listSegmentRanges({ scope: 'sc', stream: 'st' }, undefined, {
          stream: { scope: 'sc', stream: 'other' },
          positions: new Map([[0n, 0n]]),
        }),
      code: 'ILLEGAL_ARGUMENT',
      names: 'toCut',
    },
    {
      entry: 'initiateCheckpoint(undefined)',
      call: (_c, g) => g.initiateCheckpoint(anyValue(undefined)),
      code: 'ILLEGAL_ARGUMENT',
      names: 'name',
    },
    {
      entry: 'initiateCheckpoint(empty)',
      call: (_c, g) => g.initiateCheckpoint(''),
      code: 'ILLEGAL_ARGUMENT',
      names: 'name',
    },
    {
      entry: 'parseStreamCut(undefined)',
      call: () => parseStreamCut(anyValue(undefined)),
      code: 'CONFIG_INVALID',
      names: 'text',
    },
    {
      entry: 'parseStreamCut(garbage)',
      call: () => parseStreamCut('not a cut'),
      code: 'CONFIG_INVALID',
      names: 'stream cut',
    },
    {
      entry: 'connect(undefined)',
      call: () => PravegaClient.connect(anyValue(undefined)),
      code: 'CONFIG_INVALID',
      names: 'controllerUri',
    },
    {
      entry: 'connect(empty URI)',
      call: () => PravegaClient.connect(''),
      code: 'CONFIG_INVALID',
      names: 'controllerUri',
    },
    {
      entry: 'connect(http URI)',
      call: () => PravegaClient.connect('http://localhost:9090'),
      code: 'CONFIG_INVALID',
      names: 'http',
    },
    {
      entry: 'connect(negative controllerTimeoutMs)',
      call: () =>
        PravegaClient.connect({ controllerUri: 'tcp://localhost:9090', controllerTimeoutMs: -1 }),
      code: 'CONFIG_INVALID',
      names: 'controllerTimeoutMs',
    },
    {
      entry: 'connect(requestTimeoutMs a string)',
      call: () =>
        PravegaClient.connect(
          anyValue({ controllerUri: 'tcp://localhost:9090', requestTimeoutMs: '5s' }),
        ),
      code: 'CONFIG_INVALID',
      names: 'requestTimeoutMs',
    },
    {
      entry: 'connect(embedded: without a directory)',
      call: () => PravegaClient.connect('embedded:'),
      code: 'CONFIG_INVALID',
      names: 'embedded',
    },
    {
      entry: 'openEmbeddedPravega(undefined)',
      call: () => openEmbeddedPravega(anyValue(undefined)),
      code: 'ILLEGAL_ARGUMENT',
      names: 'dir',
    },
  );
  return out;
}

describe('arguments of the public client API', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let client: PravegaClient;
  let group: ReaderGroup;
  /** every Controller and SegmentStore method the client called, by name */
  const sent: string[] = [];

  beforeAll(async () => {
    tmp = await tempDir();
    client = await PravegaClient.connect(`embedded:${join(tmp.dir, 'data')}`);
    await client.createScope('sc');
    await client.createStream('sc/st', fixed);
    group = await client.createReaderGroup('sc', 'g', { streams: ['sc/st'] });
    // from here on, record whatever reaches the (embedded) servers
    for (const target of [client.controller, client.segmentStore] as unknown as Record<
      string,
      unknown
    >[]) {
      let proto: object | null = Object.getPrototypeOf(target) as object | null;
      const names = new Set<string>();
      while (proto !== null && proto !== Object.prototype) {
        for (const n of Object.getOwnPropertyNames(proto)) if (n !== 'constructor') names.add(n);
        proto = Object.getPrototypeOf(proto) as object | null;
      }
      for (const name of names) {
        const original = target[name];
        if (typeof original !== 'function') continue;
        target[name] = (...args: unknown[]) => {
          sent.push(name);
          return (original as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
    }
  });

  afterAll(async () => {
    await client.close();
    await tmp.cleanup();
  });

  it.each(cases().map((c) => [c.entry, c] as const))('%s', async (_name, c) => {
    sent.length = 0;
    let error: unknown;
    try {
      await c.call(client, group);
    } catch (err) {
      error = err;
    }
    expect(error, 'expected a typed error').toBeDefined();
    expect(error).not.toBeInstanceOf(TypeError);
    if (!TributaryError.is(error)) throw error as Error;
    expect({ code: error.code, names: error.message.includes(c.names) }, error.message).toEqual({
      code: c.code,
      names: true,
    });
    expect(error.retryable).toBe(false);
    // nothing reached a server
    expect(sent).toEqual([]);
  });
});
