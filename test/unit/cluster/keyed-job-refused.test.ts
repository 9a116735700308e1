import { describe, expect, it } from 'vitest';
import { ClusterWorker } from '../../../src/cluster/index.js';
import { keyByExchange } from '../../../src/cluster/exchange/index.js';
import { TributaryError } from '../../../src/errors.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

// nothing listens here: a refusal must come before any connection is tried
const NOWHERE = { pravega: 'tcp://127.0.0.1:1', scope: 'nowhere' };

function keyedJob(options: Parameters<typeof StreamEnvironment.create>[0]): StreamEnvironment {
  const env = StreamEnvironment.create(options);
  env
    .fromSource(SequenceSource.bounded(0, 10), { name: 'numbers' })
    .keyBy((n) => n % 3)
    .process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' })
    .sinkTo(new CollectSink<number>());
  return env;
}

describe('ClusterWorker and keyed jobs', () => {
  it('takes a keyed job without checkpoint.dir (its keyed state goes to the state stream): it gets as far as connecting', async () => {
    const err = await ClusterWorker.start(keyedJob({ parallelism: 2 }), 'keyed', NOWHERE).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).not.toBe('CONFIG_INVALID');
    expect((err as TributaryError).message).not.toMatch(/keys its records/);
  }, 60_000);

  it('refuses a keyed job in several workers (execute(name, { workers })) at once', () => {
    const env = keyedJob({ parallelism: 2, checkpoint: { dir: '/tmp/never-written' } });
    expect(() => ClusterWorker.launch(env, 'keyed', NOWHERE)).toThrow(
      /job "keyed" keys its records \(keyBy into .*sums.*runs on several workers only when it keys its records right after one keyByExchange edge/,
    );
  });

  it('takes a job keyed right after one exchange edge in several workers (its state moves with the edge segments)', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const numbers = env.fromSource(SequenceSource.unbounded(0), { name: 'numbers' });
    keyByExchange(env, numbers, (n) => n % 3, {
      scope: 'nowhere',
      uid: 'by-rest',
      eventTime: false,
    })
      .process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' })
      .sinkTo(new CollectSink<number>());
    const { worker, ready } = ClusterWorker.launch(env, 'exchanged', NOWHERE);
    // not refused: it goes on to connect (nothing listens)
    await expect(ready).rejects.not.toThrow(/keys its records/);
    await worker.handle.result.catch(() => undefined);
  }, 60_000);

  it('takes a job keyed after an exchange edge with event time in several workers (the senders of each checkpoint are told apart)', async () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const numbers = env.fromSource(SequenceSource.unbounded(0), { name: 'numbers' });
    keyByExchange(env, numbers, (n) => n % 3, { scope: 'nowhere', uid: 'timed' })
      .process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' })
      .sinkTo(new CollectSink<number>());
    const { worker, ready } = ClusterWorker.launch(env, 'timed', NOWHERE);
    await expect(ready).rejects.not.toThrow(/keys its records|event time/);
    await worker.handle.result.catch(() => undefined);
  }, 60_000);

  it('refuses a job whose exchange edge ends (bounded input) in several workers: its end is counted per process', () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const numbers = env.fromSource(SequenceSource.bounded(0, 10), { name: 'numbers' });
    keyByExchange(env, numbers, (n) => n % 3, { scope: 'nowhere', uid: 'ends', eventTime: false })
      .process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' })
      .sinkTo(new CollectSink<number>());
    expect(() => ClusterWorker.launch(env, 'ends', NOWHERE)).toThrow(
      /exchange ends ends \(its input is bounded\).*counted per process/,
    );
  });

  it('refuses a job keyed after two exchange edges in several workers (key groups would have two owners)', () => {
    const env = StreamEnvironment.create({ parallelism: 2 });
    const numbers = env.fromSource(SequenceSource.bounded(0, 10), { name: 'numbers' });
    const sums = keyByExchange(env, numbers, (n) => n % 3, {
      scope: 'nowhere',
      uid: 'first',
    }).process<number>((n, _ctx, out) => out.collect(n), { name: 'sums' });
    keyByExchange(env, sums, (n) => n % 2, { scope: 'nowhere', uid: 'second' })
      .process<number>((n, _ctx, out) => out.collect(n), { name: 'again' })
      .sinkTo(new CollectSink<number>());
    expect(() => ClusterWorker.launch(env, 'twice', NOWHERE)).toThrow(
      /runs on several workers only when it keys its records right after one keyByExchange edge/,
    );
  });
});
