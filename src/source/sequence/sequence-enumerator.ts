import type { SplitEnumerator, SplitEnumeratorContext } from '../source.js';
import type { SequenceEnumeratorState, SequenceSplit } from './sequence-split.js';

/** Pull-based: hands one unassigned split to each reader that asks, then "no more splits". */
export class SequenceEnumerator implements SplitEnumerator<SequenceSplit, SequenceEnumeratorState> {
  private readonly unassigned: SequenceSplit[];

  constructor(
    private readonly ctx: SplitEnumeratorContext<SequenceSplit>,
    unassigned: readonly SequenceSplit[],
  ) {
    this.unassigned = [...unassigned];
  }

  start(): void {}

  addReader(): void {}

  handleSplitRequest(subtask: number): void {
    const split = this.unassigned.shift();
    if (split === undefined) this.ctx.signalNoMoreSplits(subtask);
    else this.ctx.assignSplits(subtask, [split]);
  }

  addSplitsBack(splits: readonly SequenceSplit[]): void {
    this.unassigned.unshift(...splits);
  }

  snapshotState(): SequenceEnumeratorState {
    return { unassigned: [...this.unassigned] };
  }

  close(): void {}
}
