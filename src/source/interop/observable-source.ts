import type { Observable, Subscription } from 'rxjs';
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

/** A parallelism-1 source over an Observable; see `fromObservable`. Ends when it completes. */
export class ObservableSource<T> implements Source<T, ConsumedSplit, SingleSplitEnumeratorState> {
  readonly boundedness = 'bounded' as const;
  readonly splitSerializer = consumedSplitSerializer;
  readonly enumeratorStateSerializer = singleSplitStateSerializer;

  constructor(
    private readonly input: Observable<T> | (() => Observable<T>),
    private readonly bufferSize: number,
  ) {
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `fromObservable: bufferSize must be a positive integer, got ${bufferSize}`,
      );
    }
  }

  /** @internal */
  observable(): Observable<T> {
    return typeof this.input === 'function' ? this.input() : this.input;
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, ConsumedSplit> {
    return new ObservableReader(ctx, this, this.bufferSize);
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

class ObservableReader<T> extends BufferedSplitReader<T> {
  private subscription: Subscription | undefined;

  constructor(
    ctx: SourceReaderContext,
    private readonly source: ObservableSource<T>,
    private readonly bufferSize: number,
  ) {
    super(ctx);
  }

  protected begin(skip: number): void {
    let toSkip = skip;
    this.subscription = this.source.observable().subscribe({
      next: (value) => {
        if (toSkip > 0) {
          toSkip--;
          return;
        }
        if (this.buffer.length >= this.bufferSize) {
          this.fail(
            new TributaryError(
              'ILLEGAL_STATE',
              `fromObservable: the observable outran the job (more than ${this.bufferSize} values buffered); raise bufferSize or use a source with backpressure`,
            ),
          );
          this.stop();
          return;
        }
        this.push(value);
      },
      error: (err: unknown) => this.fail(err),
      complete: () => this.end(),
    });
  }

  protected stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}
