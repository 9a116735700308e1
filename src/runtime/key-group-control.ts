import type { StateValue } from '../checkpoint/state-codec.js';
import { TributaryError } from '../errors.js';

/** Key groups `[start, end)` (as `keyGroupRange` returns them). */
export interface KeyGroupSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * An in-band instruction to the keyed operators downstream of a source reader about key groups
 * that join or leave this process while the job runs (docs/scale-out.md §6 "Across workers"
 * item 2). A reader emits it through `SourceReaderContext.emitKeyGroupControl`; it travels in order
 * with the reader's records, through chained operators and forward edges, and is broadcast on
 * hash and rebalance edges (like a watermark). Records of the key groups concerned come only from
 * that reader, so in every channel the element precedes them. `id` is unique per element: a task
 * that receives it on several inputs applies and forwards it once.
 *
 * - `adopt`: the full keyed state of `keyGroups` as of checkpoint `checkpointId`, per operator uid
 *   and key group, in the format of full checkpoints (`{ state, timers }` per key group, already
 *   decoded). Each keyed operator clears what it had for the key groups of its own range that
 *   `keyGroups` names and loads its part; in incremental mode those key groups start new chains.
 *   With `watermark` (the event time the key groups' source is at), those key groups get a floor:
 *   while it is below the operator's watermark their event time is the floor (records up to it
 *   are not late, event timers fire only up to it). Floors are not checkpointed.
 * - `advance`: the floor of `keyGroups` moves up to `watermark` (never down); timers that became
 *   due fire. A floor that reaches the operator's watermark is removed.
 * - `suspend`: timers of `keyGroups` do not fire (they stay registered and are checkpointed)
 *   until `resume` or `drop`.
 * - `resume`: timers of `keyGroups` fire again; those that became due meanwhile fire now.
 * - `drop`: state, timers and floors of `keyGroups` are removed; later checkpoints do not include them.
 */
export type KeyGroupControl =
  | {
      readonly kind: 'adopt';
      readonly id: string;
      readonly keyGroups: readonly KeyGroupSpan[];
      readonly checkpointId: number;
      readonly state: ReadonlyMap<string, ReadonlyMap<number, StateValue>>;
      /** the event time of the key groups' source at their position (see `advance`) */
      readonly watermark?: number;
    }
  | {
      readonly kind: 'advance';
      readonly id: string;
      readonly keyGroups: readonly KeyGroupSpan[];
      readonly watermark: number;
    }
  | {
      readonly kind: 'suspend' | 'resume' | 'drop';
      readonly id: string;
      readonly keyGroups: readonly KeyGroupSpan[];
    };

/** Checks a control a reader hands over (bad input fails with `ILLEGAL_ARGUMENT`, one line). */
export function checkKeyGroupControl(control: KeyGroupControl, maxParallelism: number): void {
  const kinds = ['adopt', 'advance', 'suspend', 'resume', 'drop'];
  const what = `key group control ${JSON.stringify((control as { id?: unknown }).id)}`;
  if (!kinds.includes(control.kind))
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${what}: kind ${JSON.stringify(control.kind)} is none of ${kinds.join(', ')}`,
    );
  if (typeof control.id !== 'string' || control.id.length === 0)
    throw new TributaryError('ILLEGAL_ARGUMENT', `${what}: id must be a non-empty string`);
  if (!Array.isArray(control.keyGroups))
    throw new TributaryError('ILLEGAL_ARGUMENT', `${what}: keyGroups must be an array of ranges`);
  for (const span of control.keyGroups as readonly KeyGroupSpan[]) {
    if (
      !Number.isInteger(span.start) ||
      !Number.isInteger(span.end) ||
      span.start < 0 ||
      span.end > maxParallelism ||
      span.start >= span.end
    )
      throw new TributaryError(
        'ILLEGAL_ARGUMENT',
        `${what}: key groups [${span.start}, ${span.end}) are not a non-empty range within [0, ${maxParallelism})`,
      );
  }
  if (control.kind === 'adopt' && !(control.state instanceof Map))
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${what}: adopt needs state as a Map by operator uid`,
    );
  const watermark = (control as { watermark?: unknown }).watermark;
  if (
    (control.kind === 'advance' || (control.kind === 'adopt' && watermark !== undefined)) &&
    (typeof watermark !== 'number' || Number.isNaN(watermark))
  )
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `${what}: watermark must be a number (event time in ms), got ${JSON.stringify(watermark)}`,
    );
}

/** The key groups of `control` that lie in `[own.start, own.end)`, ascending. */
export function keyGroupsWithin(spans: readonly KeyGroupSpan[], own: KeyGroupSpan): Set<number> {
  const groups = new Set<number>();
  for (const span of spans)
    for (let g = Math.max(span.start, own.start); g < Math.min(span.end, own.end); g++)
      groups.add(g);
  return groups;
}

/** Remembers the ids of recent controls, so that one arriving on several inputs counts once. */
export class SeenControls {
  private readonly ids = new Set<string>();

  constructor(private readonly limit = 1024) {}

  /** True the first time `id` is seen (among the last `limit` ids). */
  firstTime(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.limit) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
    return true;
  }
}
