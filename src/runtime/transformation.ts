import type { Sink } from '../sink/sink.js';
import type { AnySource } from '../source/source.js';
import type { Key } from './key-groups.js';
import type { StreamOperator } from './operator.js';
import type { WatermarkStrategy } from './watermark-strategy.js';

/** A node of the logical pipeline, as built by the DataStream API. */
export interface Transformation {
  readonly id: number;
  /**
   * `union` and `side-output` are virtual: they add no operator, only say where records come
   * from (several inputs; one side output of the single input operator).
   */
  readonly kind: 'source' | 'operator' | 'union' | 'side-output';
  /** Short kind of operation, used for default names and uids (e.g. `map`). */
  readonly operation: string;
  readonly name: string;
  readonly uid: string;
  readonly parallelism: number | undefined;
  readonly inputs: readonly Transformation[];
  /** How the inputs reach this node: `hash` after keyBy, else forward/rebalance by parallelism. */
  readonly partitioning: 'forward' | 'hash';
  readonly keySelector: ((value: unknown) => Key) | undefined;
  /** For operators: creates one instance per parallel subtask. */
  readonly createOperator: (() => StreamOperator) | undefined;
  readonly source: AnySource<unknown> | undefined;
  readonly watermarkStrategy: WatermarkStrategy<unknown> | undefined;
  readonly isSink: boolean;
  /** For operators: the ids of the side outputs (`OutputTag`) the operator may emit to. */
  readonly sideOutputs?: readonly string[];
  /** For `side-output` nodes: the tag id read from the input operator. */
  readonly sideOutputTag?: string;
}

/** Names the side output `tagId` of operator `operatorUid` on edges and in task outputs. */
export function sideOutputKey(operatorUid: string, tagId: string): string {
  return `${operatorUid}#${tagId}`;
}

/** Collects the transformations of one environment. */
export class PipelineBuilder {
  readonly transformations: Transformation[] = [];
  /** the sink of each sink transformation (for the checks before a job starts) */
  readonly sinks = new Map<Transformation, Sink<never>>();

  add(
    t: Omit<Transformation, 'id' | 'name' | 'uid'> & {
      name?: string | undefined;
      uid?: string | undefined;
    },
  ): Transformation {
    const id = this.transformations.length + 1;
    const transformation: Transformation = {
      ...t,
      id,
      name: t.name ?? `${t.operation}-${id}`,
      uid: t.uid ?? `${t.operation}-${id}`,
    };
    this.transformations.push(transformation);
    return transformation;
  }
}
