import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { parseReaderGroupConfig } from '../../../src/pravega/client/reader-group/reader-group-config.js';
import {
  parseStreamCut,
  streamCutFromBytes,
  streamCutToBytes,
  streamCutToText,
  unboundedCut,
  type StreamCut,
} from '../../../src/pravega/client/stream-cut.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import { JAVA_STREAM_CUTS } from '../protocol/stream-cut-fixtures.js';

const ST = { scope: 'sc', stream: 'st' };

function failure(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error('expected an error');
}

/** Tributary's text before it wrote Java's: base64 of its JSON (sc/st: 1→100, 4294967298→5). */
const LEGACY =
  'eyJ2IjoxLCJzY29wZSI6InNjIiwic3RyZWFtIjoic3QiLCJwb3NpdGlvbnMiOltbIjEiLCIxMDAiXSxbIjQyOTQ5NjcyOTgiLCI1Il1dfQ==';
/** The same, with no positions: its unbounded cut of sc/st. */
const LEGACY_UNBOUNDED = 'eyJ2IjoxLCJzY29wZSI6InNjIiwic3RyZWFtIjoic3QiLCJwb3NpdGlvbnMiOltdfQ==';

const javaCut = (name: string) => {
  const f = JAVA_STREAM_CUTS.find((c) => c.name === name);
  if (f === undefined) throw new Error(name);
  return f;
};

describe('stream cuts: the Java client forms', () => {
  for (const f of JAVA_STREAM_CUTS.filter((c) => c.stream !== '')) {
    it(`${f.name}: Java's text and bytes parse to the cut and are written back identical`, () => {
      const [scope = '', stream = ''] = f.stream.split('/');
      const cut = parseStreamCut(f.text);
      expect(cut.stream).toEqual({ scope, stream });
      expect([...cut.positions].map(([s, o]) => `${s}=${o}`).join(',')).toBe(f.positions);
      expect(streamCutToText(cut)).toBe(f.text);
      expect(streamCutToBytes(cut).toString('hex')).toBe(f.hex);
      expect(streamCutFromBytes(Buffer.from(f.hex, 'hex'))).toEqual(cut);
      // the stream it is for may be given, and is checked
      expect(parseStreamCut(f.text, { scope, stream })).toEqual(cut);
    });
  }

  it('an unbounded cut is UNBOUNDED and no bytes, and reads back only for a given stream', () => {
    expect(streamCutToText(unboundedCut(ST))).toBe('UNBOUNDED');
    expect(streamCutToBytes(unboundedCut(ST))).toHaveLength(0);
    expect(parseStreamCut('UNBOUNDED', ST)).toEqual(unboundedCut(ST));
    expect(streamCutFromBytes(Buffer.alloc(0), ST)).toEqual(unboundedCut(ST));
    const e = failure(() => parseStreamCut('UNBOUNDED'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('pass the stream');
    expect(failure(() => streamCutFromBytes(Buffer.alloc(0))).code).toBe('CONFIG_INVALID');
  });

  it('a cut of another stream than the one given is CONFIG_INVALID naming both', () => {
    const e = failure(() =>
      parseStreamCut(javaCut('oneSegmentAtZero').text, { ...ST, stream: 'x' }),
    );
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('a cut of sc/st, not of sc/x');
    const b = Buffer.from(javaCut('oneSegmentAtZero').hex, 'hex');
    expect(failure(() => streamCutFromBytes(b, { ...ST, stream: 'x' })).message).toContain(
      'not of sc/x',
    );
  });

  it("still reads Tributary's earlier text, and writes Java's for it", () => {
    const cut = parseStreamCut(LEGACY);
    expect(cut).toEqual({
      stream: ST,
      positions: new Map([
        [1n, 100n],
        [(1n << 32n) | 2n, 5n],
      ]),
    });
    expect(parseStreamCut(streamCutToText(cut))).toEqual(cut);
    expect(streamCutToText(cut).startsWith('H4sI')).toBe(true);
    expect(parseStreamCut(LEGACY_UNBOUNDED)).toEqual(unboundedCut(ST));
  });

  it('anything else is CONFIG_INVALID naming the forms expected and what is wrong', () => {
    for (const text of ['not a cut', '', 'H4sIAAAA', 'eyJub3QiOiJhIGN1dCJ9']) {
      const e = failure(() => parseStreamCut(text));
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain('StreamCut.asText()');
      expect(e.message).toContain('UNBOUNDED');
    }
    expect(failure(() => parseStreamCut('eyJub3QiOiJhIGN1dCJ9')).message).toContain(
      'expected {v: 1, scope, stream, positions}',
    );
    const bytes = failure(() => streamCutFromBytes(Buffer.from([1, 2, 3])));
    expect(bytes.code).toBe('CONFIG_INVALID');
    expect(bytes.message).toContain('serializer format');
  });
});

describe('stream cut text where cuts are configured', () => {
  const text = javaCut('epochsAndLargeOffsets').text;

  it('reader group config: Java text for start or end, UNBOUNDED as no bound', () => {
    const c = parseReaderGroupConfig({
      streams: [{ stream: 'sc/st', start: 'UNBOUNDED', end: text }],
    });
    const [s] = c.streams;
    expect(s?.start).toBeUndefined();
    expect(s?.end).toEqual(parseStreamCut(text));
  });

  it('reader group config: a cut of another stream names the key', () => {
    const e = failure(() =>
      parseReaderGroupConfig({ streams: [{ stream: 'sc/other', end: text }] }),
    );
    expect(e.message).toContain('streams.0.end');
    expect(e.message).toContain('not of sc/other');
  });

  it('PravegaSource.forStream takes Java text and UNBOUNDED', () => {
    const source = PravegaSource.forStream('sc/st', { start: 'UNBOUNDED', end: text });
    const [spec] = source.settings.streams as readonly { start?: StreamCut; end?: StreamCut }[];
    expect(spec?.start).toEqual(unboundedCut(ST));
    expect(spec?.end).toEqual(parseStreamCut(text));
    const e = failure(() => PravegaSource.forStream('sc/x', { end: text }));
    expect(e.message).toContain('forStream(sc/x): the end cut');
  });
});
