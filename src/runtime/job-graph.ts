import { TributaryError } from '../errors.js';
import type { AnySource } from '../source/source.js';
import type { JobGraphDescription } from './job-events.js';
import type { Key } from './key-groups.js';
import type { StreamOperator } from './operator.js';
import { sideOutputKey, type Transformation } from './transformation.js';
import type { WatermarkStrategy } from './watermark-strategy.js';

export interface JobOperator {
  readonly uid: string;
  readonly name: string;
  readonly create: () => StreamOperator;
}

export interface JobVertexSource {
  readonly uid: string;
  readonly name: string;
  readonly source: AnySource<unknown>;
  readonly watermarkStrategy: WatermarkStrategy<unknown> | undefined;
}

/** A chain of operators run by `parallelism` tasks. */
export interface JobVertex {
  readonly id: number;
  readonly name: string;
  readonly parallelism: number;
  readonly source: JobVertexSource | undefined;
  readonly operators: JobOperator[];
  readonly inputs: JobEdge[];
  readonly outputs: JobEdge[];
}

export type EdgePartitioning = 'forward' | 'rebalance' | 'hash';

export interface JobEdge {
  readonly from: JobVertex;
  readonly to: JobVertex;
  readonly partitioning: EdgePartitioning;
  readonly keySelector: ((value: unknown) => Key) | undefined;
  /**
   * Set on side-output edges: `sideOutputKey(operatorUid, tagId)`. Records emitted to that side
   * output travel only on such edges, main output records only on edges without it; watermarks,
   * idleness, barriers and the end of data travel on every edge.
   */
  readonly sideOutput?: string;
}

export interface JobGraph {
  readonly vertices: readonly JobVertex[];
  /** uid → display name, for every stateful participant (sources and operators). */
  readonly names: ReadonlyMap<string, string>;
  readonly parallelismByUid: ReadonlyMap<string, number>;
}

/**
 * Turns the logical pipeline into vertices: an operator is chained to its input when the data
 * flows one-to-one (single input, not after keyBy, same parallelism, the input has no other
 * consumer); otherwise it starts a vertex fed by hash partitioning (after keyBy), forward
 * channels (same parallelism), or rebalancing (round-robin batches).
 */
export function buildJobGraph(
  transformations: readonly Transformation[],
  defaultParallelism: number,
): JobGraph {
  /** A real input: an operator or source, and which of its outputs (main or a side output). */
  interface Input {
    readonly t: Transformation;
    readonly side: string | undefined;
  }
  const expand = (t: Transformation): Input[] => {
    if (t.kind === 'union') return t.inputs.flatMap(expand);
    if (t.kind === 'side-output') {
      const producer = t.inputs[0] as Transformation;
      return [{ t: producer, side: sideOutputKey(producer.uid, t.sideOutputTag as string) }];
    }
    return [{ t, side: undefined }];
  };
  const isVirtual = (t: Transformation): boolean => t.kind === 'union' || t.kind === 'side-output';
  // consumers of each main output (side outputs never chain: they always go over the network)
  const consumers = new Map<number, number>();
  for (const t of transformations) {
    if (isVirtual(t)) continue;
    for (const input of t.inputs.flatMap(expand))
      if (input.side === undefined) consumers.set(input.t.id, (consumers.get(input.t.id) ?? 0) + 1);
  }
  if (!transformations.some((t) => t.isSink)) {
    throw new TributaryError(
      'ILLEGAL_STATE',
      'the pipeline has no sink: add sinkTo(...) before execute()',
    );
  }
  const uids = new Map<string, string>();
  const parallelismByUid = new Map<string, number>();
  const vertices: JobVertex[] = [];
  const vertexOf = new Map<number, JobVertex>();
  const parallelismOf = (t: Transformation): number => t.parallelism ?? defaultParallelism;

  for (const t of transformations) {
    if (isVirtual(t)) continue;
    if (uids.has(t.uid)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `uid "${t.uid}" is used by two operators; uids must be unique`,
      );
    }
    uids.set(t.uid, t.name);
    parallelismByUid.set(t.uid, parallelismOf(t));
    if (t.kind === 'source') {
      const vertex = newVertex(vertices, t, parallelismOf(t));
      (vertex as { source: JobVertexSource }).source = {
        uid: t.uid,
        name: t.name,
        source: t.source as AnySource<unknown>,
        watermarkStrategy: t.watermarkStrategy,
      };
      vertexOf.set(t.id, vertex);
      continue;
    }
    const operator: JobOperator = {
      uid: t.uid,
      name: t.name,
      create: t.createOperator as () => StreamOperator,
    };
    const inputs = t.inputs.flatMap(expand);
    const only = inputs[0];
    if (
      inputs.length === 1 &&
      only !== undefined &&
      only.side === undefined &&
      t.partitioning === 'forward' &&
      parallelismOf(only.t) === parallelismOf(t) &&
      consumers.get(only.t.id) === 1 &&
      !only.t.isSink
    ) {
      const vertex = vertexOf.get(only.t.id) as JobVertex;
      vertex.operators.push(operator);
      vertexOf.set(t.id, vertex);
      continue;
    }
    const vertex = newVertex(vertices, t, parallelismOf(t));
    vertex.operators.push(operator);
    vertexOf.set(t.id, vertex);
    for (const input of inputs) {
      const from = vertexOf.get(input.t.id) as JobVertex;
      const partitioning: EdgePartitioning =
        t.partitioning === 'hash'
          ? 'hash'
          : from.parallelism === vertex.parallelism
            ? 'forward'
            : 'rebalance';
      const edge: JobEdge = {
        from,
        to: vertex,
        partitioning,
        keySelector: t.keySelector,
        ...(input.side === undefined ? {} : { sideOutput: input.side }),
      };
      from.outputs.push(edge);
      vertex.inputs.push(edge);
    }
  }
  return { vertices, names: uids, parallelismByUid };
}

function newVertex(vertices: JobVertex[], t: Transformation, parallelism: number): JobVertex {
  const vertex: JobVertex = {
    id: vertices.length,
    name: t.name,
    parallelism,
    source: undefined,
    operators: [],
    inputs: [],
    outputs: [],
  };
  vertices.push(vertex);
  return vertex;
}

/** The graph without functions, for status pages and logs. */
export function describeGraph(graph: JobGraph): JobGraphDescription {
  return {
    vertices: graph.vertices.map((v) => ({
      id: v.id,
      name: [v.source?.name, ...v.operators.map((o) => o.name)].filter(Boolean).join(' → '),
      parallelism: v.parallelism,
      source: v.source === undefined ? undefined : { uid: v.source.uid, name: v.source.name },
      operators: v.operators.map((o) => ({ uid: o.uid, name: o.name })),
    })),
    edges: graph.vertices.flatMap((v) =>
      v.outputs.map((e) => ({
        from: e.from.id,
        to: e.to.id,
        partitioning: e.partitioning,
        ...(e.sideOutput === undefined ? {} : { sideOutput: e.sideOutput }),
      })),
    ),
  };
}
