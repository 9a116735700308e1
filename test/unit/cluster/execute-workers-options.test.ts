import { describe, expect, it } from 'vitest';
// the package entry: it registers the scale-out launcher that execute({ workers }) needs
import { StreamEnvironment } from '../../../src/index.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

function pipeline(options: Parameters<typeof StreamEnvironment.create>[0], keyed = false) {
  const env = StreamEnvironment.create(options);
  const numbers = env.fromSource(SequenceSource.bounded(0, 10), { name: 'numbers' });
  (keyed
    ? numbers
        .keyBy((n) => n % 3)
        .process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' })
    : numbers
  ).sinkTo(new CollectSink<number>());
  return env;
}

// nothing listens here: every refusal must come before any connection is tried
const NOWHERE = 'tcp://127.0.0.1:1';

describe('execute(name, { workers })', () => {
  it('refuses a bad worker count, naming the option', () => {
    for (const workers of [0, 1.5, 1_000]) {
      expect(() => pipeline({ pravega: NOWHERE }).execute('j', { workers })).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('workers') as unknown,
        }),
      );
    }
  });

  it('refuses the embedded store and a job without a server: every worker must reach it', () => {
    expect(() =>
      pipeline({ pravega: 'embedded:/tmp/nowhere' }).execute('j', { workers: 2 }),
    ).toThrow(/workers > 1 needs the job option pravega to name a server.*embedded:\/tmp\/nowhere/);
    expect(() => pipeline({}).execute('j', { workers: 2 })).toThrow(/got none/);
  });

  it('refuses start options that do not apply to workers, and a keyed job', () => {
    expect(() =>
      pipeline({ pravega: NOWHERE }).execute('j', { workers: 2, startFrom: 'scratch' }),
    ).toThrow(/workers.*restoreFrom and startFrom: 'scratch' do not apply/);
    expect(() => pipeline({ pravega: NOWHERE }, true).execute('keyed', { workers: 2 })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/job "keyed" keys its records/) as unknown,
      }),
    );
  });

  it('workers: 1 is the job as always (no cluster)', async () => {
    const sink = new CollectSink<number>();
    const env = StreamEnvironment.create({ parallelism: 1 });
    env.fromSource(SequenceSource.bounded(0, 10), { name: 'numbers' }).sinkTo(sink);
    const result = await env.execute('single', { workers: 1 });
    expect(result.status).toBe('finished');
  });
});
