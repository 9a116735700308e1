import { TributaryError } from '../../errors.js';
import type {
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../source.js';
import {
  BufferedSplitReader,
  SingleSplitEnumerator,
  consumedSplitSerializer,
  singleSplitStateSerializer,
  type ConsumedSplit,
  type SingleSplitEnumeratorState,
} from './single-split.js';

export type IterableInput<T> =
  AsyncIterable<T> | Iterable<T> | (() => AsyncIterable<T> | Iterable<T>);

const PREFETCH = 1024;

function iteratorOf<T>(iterable: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  if (Symbol.asyncIterator in iterable) return iterable[Symbol.asyncIterator]();
  return iterable[Symbol.iterator]();
}

/** A bounded, parallelism-1 source over an (async) iterable; see `fromAsyncIterable`. */
export class AsyncIterableSource<T> implements Source<
  T,
  ConsumedSplit,
  SingleSplitEnumeratorState
> {
  readonly boundedness = 'bounded' as const;
  readonly splitSerializer = consumedSplitSerializer;
  readonly enumeratorStateSerializer = singleSplitStateSerializer;
  private started = false;

  constructor(private readonly input: IterableInput<T>) {}

  /** @internal Fresh iterator for a (re)start; refuses to replay a one-shot iterator. */
  openIterator(): AsyncIterator<T> | Iterator<T> {
    if (typeof this.input === 'function') return iteratorOf(this.input());
    const iterator = iteratorOf(this.input);
    if ((iterator as unknown) === this.input && this.started) {
      throw new TributaryError(
        'ILLEGAL_STATE',
        'fromAsyncIterable: a one-shot iterator (e.g. a generator object) cannot be replayed after a restart; pass a function that creates the iterable',
      );
    }
    this.started = true;
    return iterator;
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, ConsumedSplit> {
    return new IterableReader(ctx, this);
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<ConsumedSplit>,
  ): SplitEnumerator<ConsumedSplit, SingleSplitEnumeratorState> {
    return new SingleSplitEnumerator(ctx, false);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<ConsumedSplit>,
    state: SingleSplitEnumeratorState,
  ): SplitEnumerator<ConsumedSplit, SingleSplitEnumeratorState> {
    return new SingleSplitEnumerator(ctx, state.assigned);
  }
}

class IterableReader<T> extends BufferedSplitReader<T> {
  private iterator: AsyncIterator<T> | Iterator<T> | undefined;
  private pumping = false;
  private stopped = false;
  private skip = 0;

  constructor(
    ctx: SourceReaderContext,
    private readonly source: AsyncIterableSource<T>,
  ) {
    super(ctx);
  }

  protected begin(skip: number): void {
    this.skip = skip;
    this.iterator = this.source.openIterator();
    void this.pump();
  }

  protected override onDrained(): void {
    void this.pump();
  }

  protected stop(): void {
    this.stopped = true;
    const iterator = this.iterator;
    this.iterator = undefined;
    void Promise.resolve(iterator?.return?.()).catch(() => {});
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.iterator === undefined) return;
    this.pumping = true;
    try {
      while (!this.stopped && this.buffer.length < PREFETCH) {
        const iterator = this.iterator;
        if (iterator === undefined) return;
        const next = await iterator.next();
        if (this.stopped) return;
        if (next.done === true) {
          this.iterator = undefined;
          this.end();
          return;
        }
        if (this.skip > 0) {
          this.skip--;
          continue;
        }
        this.push(next.value);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.pumping = false;
    }
  }
}
