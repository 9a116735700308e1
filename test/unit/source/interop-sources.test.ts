import { from, interval, map, take } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { CollectSink } from '../helpers/collect-sink.js';

describe('interop sources', () => {
  it('reads an async iterable and replays a factory after a failure, skipping what was consumed', async () => {
    const env = StreamEnvironment.create({
      checkpoint: { intervalMs: 10 },
      restart: { type: 'fixed-delay', maxAttempts: 1, delayMs: 0 },
    });
    async function* numbers(): AsyncGenerator<number> {
      for (let i = 0; i < 3000; i++) {
        if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        yield i;
      }
    }
    const sink = new CollectSink<number>();
    let failed = false;
    let completed = 0;
    env
      .fromAsyncIterable(() => numbers())
      .map((n) => {
        if (!failed && n === 2000 && completed > 0) {
          failed = true;
          throw new Error('boom');
        }
        return n;
      })
      .sinkTo(sink);
    const handle = env.execute('iterable');
    handle.events$.subscribe((e) => {
      if (e.type === 'checkpoint-completed') completed++;
    });
    const result = await handle;
    expect(result.restarts).toBe(1);
    // the collect sink is at-least-once: every value arrives, replayed ones may repeat
    expect(new Set(sink.records).size).toBe(3000);
  });

  it('refuses to replay a one-shot generator after a restart', async () => {
    const env = StreamEnvironment.create({
      restart: { type: 'fixed-delay', maxAttempts: 1, delayMs: 0 },
    });
    async function* numbers(): AsyncGenerator<number> {
      for (let i = 0; i < 100; i++) yield i;
    }
    let thrown = false;
    env
      .fromAsyncIterable(numbers())
      .map((n) => {
        if (!thrown && n === 50) {
          thrown = true;
          throw new Error('boom');
        }
        return n;
      })
      .sinkTo(new CollectSink<number>());
    const error = await env.execute('one-shot').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(TributaryError.is(error, 'JOB_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/one-shot iterator/);
  });

  it('reads arrays and observables; fails clearly when an observable outruns its buffer', async () => {
    const env = StreamEnvironment.create({ restart: { type: 'none' } });
    const sink = new CollectSink<string>();
    env
      .fromAsyncIterable(['a', 'b'])
      .union(
        env.fromObservable(
          interval(1).pipe(
            take(5),
            map((i) => `o${i}`),
          ),
        ),
      )
      .sinkTo(sink);
    await env.execute('arrays');
    expect([...sink.records].sort()).toEqual(['a', 'b', 'o0', 'o1', 'o2', 'o3', 'o4']);

    const env2 = StreamEnvironment.create({ restart: { type: 'none' } });
    env2
      .fromObservable(from(Array.from({ length: 100 }, (_, i) => i)), { bufferSize: 10 })
      .sinkTo(new CollectSink<number>());
    await expect(env2.execute('overflow').result).rejects.toThrow(/outran the job/);
  });
});
