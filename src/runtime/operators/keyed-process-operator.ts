import type {
  Collector,
  Key,
  KeyedContext,
  KeyedProcessFunction,
  OnTimerContext,
} from '../functions.js';
import { KeyedOperator } from './keyed-operator.js';

/** Runs a user `KeyedProcessFunction`. */
export class KeyedProcessOperator<K extends Key, I, O> extends KeyedOperator<K, I, O> {
  constructor(
    keySelector: (value: I) => K,
    private readonly fn: KeyedProcessFunction<K, I, O>,
  ) {
    super(keySelector);
  }

  protected processElement(value: I, ctx: KeyedContext<K>, out: Collector<O>): void {
    this.fn.processElement(value, ctx, out);
  }

  protected onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void {
    this.fn.onTimer?.(timestamp, ctx, out);
  }
}
