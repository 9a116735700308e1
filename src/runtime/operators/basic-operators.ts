import { StreamOperator } from '../operator.js';

/** `map`: one output per input, timestamps kept. */
export class MapOperator<I, O> extends StreamOperator {
  constructor(private readonly fn: (value: I) => O) {
    super();
  }

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    const fn = this.fn;
    const out = new Array<O>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = fn(values[i] as I);
    this.output.emitBatch(out, timestamps);
  }
}

/** `filter`: keeps the records for which the predicate holds. */
export class FilterOperator<T> extends StreamOperator {
  constructor(private readonly predicate: (value: T) => boolean) {
    super();
  }

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    const predicate = this.predicate;
    const out: unknown[] = [];
    const outTs: number[] | undefined = timestamps === undefined ? undefined : [];
    for (let i = 0; i < values.length; i++) {
      if (predicate(values[i] as T)) {
        out.push(values[i]);
        outTs?.push(timestamps?.[i] ?? NaN);
      }
    }
    this.output.emitBatch(out, outTs);
  }
}

/** `flatMap`: zero or more outputs per input, each with the input's timestamp. */
export class FlatMapOperator<I, O> extends StreamOperator {
  constructor(private readonly fn: (value: I) => Iterable<O>) {
    super();
  }

  processBatch(values: readonly unknown[], timestamps: readonly number[] | undefined): void {
    const fn = this.fn;
    const out: O[] = [];
    const outTs: number[] | undefined = timestamps === undefined ? undefined : [];
    for (let i = 0; i < values.length; i++) {
      for (const result of fn(values[i] as I)) {
        out.push(result);
        outTs?.push(timestamps?.[i] ?? NaN);
      }
    }
    this.output.emitBatch(out, outTs);
  }
}
