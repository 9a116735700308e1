import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateValue } from '../../../src/checkpoint/state-codec.js';
import type { KeyedProcessFunction } from '../../../src/runtime/functions.js';
import type { JobResult } from '../../../src/runtime/job-events.js';
import {
  checkKeyGroupControl,
  type KeyGroupControl,
} from '../../../src/runtime/key-group-control.js';
import { TributaryError } from '../../../src/errors.js';
import { keyGroupOf } from '../../../src/runtime/key-groups.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { TumblingEventTimeWindows } from '../../../src/runtime/windows.js';
import type {
  Source,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
  StateSerializer,
} from '../../../src/source/source.js';
import { CollectSink } from '../helpers/collect-sink.js';
import { tempDir } from '../helpers/files.js';

/** One record: a key, its event time and, optionally, an event-time timer to register. */
interface Rec {
  readonly key: string;
  readonly ts: number;
  readonly timer?: number;
}

/**
 * What the reader does at one poll: emit records, emit a key group control, or wait until a
 * checkpoint taken after everything before it completed.
 */
type Step =
  | { readonly records: readonly Rec[] }
  | { readonly control: KeyGroupControl }
  | { readonly checkpoint: true };

interface ScriptSplit extends SourceSplit {
  readonly next: number;
}

/**
 * A bounded source with one reader that plays `steps` in order, one per poll. A restored run
 * starts at step `resumeAt` (the tests restore the final checkpoint of a run that played them).
 */
class ScriptSource implements Source<Rec, ScriptSplit, null> {
  readonly boundedness = 'bounded' as const;
  readonly splitSerializer: StateSerializer<ScriptSplit> = {
    toState: (s) => ({ ...s }),
    fromState: (s) => s as unknown as ScriptSplit,
  };
  readonly enumeratorStateSerializer: StateSerializer<null> = {
    toState: () => null,
    fromState: () => null,
  };

  constructor(
    private readonly steps: readonly Step[],
    private readonly resumeAt = 0,
  ) {}

  createReader(ctx: SourceReaderContext): SourceReader<Rec, ScriptSplit> {
    const steps = this.steps;
    let split: ScriptSplit | undefined;
    let noMore = false;
    /** at a `checkpoint` step: the first checkpoint snapshotted there, then whether it completed */
    let barrier: number | undefined;
    let passed = false;
    return {
      start: () => undefined,
      pollNext: () => {
        if (split === undefined) return noMore ? 'end-of-input' : 'nothing-available';
        const step = steps[split.next];
        if (step === undefined) return 'end-of-input';
        if ('checkpoint' in step) {
          if (!passed) return 'nothing-available';
          barrier = undefined;
          passed = false;
        }
        split = { ...split, next: split.next + 1 };
        if ('checkpoint' in step) return { records: [] };
        if ('control' in step) {
          ctx.emitKeyGroupControl(step.control);
          return { records: [] };
        }
        return { records: step.records };
      },
      // polled again within 10 ms (while waiting for a checkpoint)
      isAvailable: () => new Promise((resolve) => setTimeout(resolve, 10)),
      snapshotState: (checkpointId) => {
        if (split !== undefined && 'checkpoint' in (steps[split.next] ?? {}))
          barrier ??= checkpointId;
        return split === undefined ? [] : [split];
      },
      notifyCheckpointComplete: (checkpointId) => {
        if (barrier !== undefined && checkpointId >= barrier) passed = true;
      },
      addSplits: (splits) => {
        split = splits[0];
      },
      notifyNoMoreSplits: () => {
        noMore = true;
      },
      close: () => undefined,
    };
  }

  createEnumerator(ctx: SplitEnumeratorContext<ScriptSplit>): SplitEnumerator<ScriptSplit, null> {
    return this.enumerator(ctx, false);
  }

  restoreEnumerator(ctx: SplitEnumeratorContext<ScriptSplit>): SplitEnumerator<ScriptSplit, null> {
    return this.enumerator(ctx, true);
  }

  private enumerator(
    ctx: SplitEnumeratorContext<ScriptSplit>,
    restored: boolean,
  ): SplitEnumerator<ScriptSplit, null> {
    return {
      start: () => undefined,
      addReader: (subtask) => {
        ctx.assignSplits(subtask, [{ splitId: 'script', next: restored ? this.resumeAt : 0 }]);
        ctx.signalNoMoreSplits(subtask);
      },
      handleSplitRequest: () => undefined,
      addSplitsBack: () => undefined,
      snapshotState: () => null,
      close: () => undefined,
    };
  }
}

const K = 16;

/** A key (`<prefix><n>`) in key group `group`, other than `not`. */
function keyIn(group: number, prefix: string): string {
  for (let n = 0; ; n++) {
    const key = `${prefix}${n}`;
    if (keyGroupOf(key, K) === group) return key;
  }
}

// p = 2 over 16 key groups: subtask 0 owns [0, 8), subtask 1 owns [8, 16)
const A = keyIn(2, 'a'); // adopted (subtask 0)
const A2 = keyIn(2, 'e'); // had state in the adopted key group before: cleared by the adopt
const B = keyIn(12, 'b'); // adopted (subtask 1)
const C = keyIn(5, 'c'); // dropped
const G = keyIn(6, 'g'); // dropped, then seen again
const D = keyIn(9, 'd'); // suspended, then resumed
const X = keyIn(14, 'x'); // moves the watermark
const span = (g: number): { start: number; end: number } => ({ start: g, end: g + 1 });

/** Counts records per key in value state; records can register timers; timers report. */
const counting: KeyedProcessFunction<string, Rec, string> = {
  processElement(rec, ctx, out) {
    const count = ctx.valueState<number>('count');
    const n = (count.value() ?? 0) + 1;
    count.update(n);
    if (rec.key !== X) out.collect(`${rec.key}:${n}`);
    if (rec.timer !== undefined) ctx.timers.registerEventTimeTimer(rec.timer);
  },
  onTimer(timestamp, ctx, out) {
    const n = ctx.valueState<number>('count').value();
    out.collect(`timer ${ctx.key}@${timestamp}:${n} wm ${ctx.timers.currentWatermark()}`);
  },
};

/** Full-checkpoint form of one key group: value state `count` and event timers. */
function group(counts: [string, number][], timers: [string, number][] = []): StateValue {
  return {
    state: { count: { kind: 'value', entries: counts } },
    timers: { e: timers, p: [] },
  };
}

const firstRun: Step[] = [
  {
    records: [
      { key: C, ts: 100, timer: 1000 },
      { key: D, ts: 100, timer: 500 },
      { key: A, ts: 100 },
      { key: A2, ts: 100, timer: 650 },
      { key: G, ts: 100 },
    ],
  },
  // a checkpoint with chains (incremental) of the key groups adopted and dropped below
  { checkpoint: true },
  { control: { kind: 'suspend', id: 'suspend-d', keyGroups: [span(9)] } },
  { records: [{ key: X, ts: 600 }] }, // watermark 599: D's timer is due but suspended
  {
    control: {
      kind: 'adopt',
      id: 'adopt-ab',
      keyGroups: [span(2), { start: 11, end: 13 }],
      checkpointId: 7,
      state: new Map([
        [
          'count',
          new Map<number, StateValue>([
            [2, group([[A, 41]], [[A, 700]])],
            [12, group([[B, 7]])],
          ]),
        ],
      ]),
    },
  },
  {
    records: [
      { key: A, ts: 650 },
      { key: B, ts: 650 },
    ],
  },
  { control: { kind: 'drop', id: 'drop-cg', keyGroups: [{ start: 5, end: 7 }] } },
  {
    records: [
      { key: X, ts: 800 },
      { key: G, ts: 800 },
    ],
  }, // watermark 799: A's adopted timer fires, D's stays held
  { control: { kind: 'resume', id: 'resume-d', keyGroups: [span(9)] } },
  { records: [{ key: X, ts: 2000 }] }, // watermark 1999: C's dropped timer (1000) must not fire
];

const secondRun: Step[] = [
  ...firstRun,
  {
    records: [
      { key: A, ts: 3000 },
      { key: A2, ts: 3000 },
      { key: B, ts: 3000 },
      { key: C, ts: 3000 },
    ],
  },
];

type Variant = {
  readonly name: string;
  readonly state: {
    backend: 'heap' | 'lmdb';
    snapshots: 'full' | 'incremental';
    writeBatchEntries?: number;
    writeCacheEntries?: number;
    cacheEntries?: number;
  };
};

const variants: Variant[] = [
  { name: 'heap, full checkpoints', state: { backend: 'heap', snapshots: 'full' } },
  { name: 'heap, incremental', state: { backend: 'heap', snapshots: 'incremental' } },
  { name: 'lmdb, incremental', state: { backend: 'lmdb', snapshots: 'incremental' } },
  { name: 'lmdb, full checkpoints', state: { backend: 'lmdb', snapshots: 'full' } },
  {
    name: 'lmdb, every write in LMDB at once',
    state: {
      backend: 'lmdb',
      snapshots: 'incremental',
      writeBatchEntries: 1,
      writeCacheEntries: 0,
      cacheEntries: 0,
    },
  },
];

describe('key group controls: key groups join and leave a running keyed operator', () => {
  let ckpt: { path: string; remove: () => Promise<void> };
  let work: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    ckpt = await tempDir('kg-control-ckpt');
    work = await tempDir('kg-control-state');
  });
  afterEach(async () => {
    await ckpt.remove();
    await work.remove();
  });

  /** `steps` → keyBy → tumbling event-time windows of 1 s counting → `key [start, end): count`. */
  async function countWindows(
    steps: readonly Step[],
    variant: Variant,
    jobName: string,
  ): Promise<{ result: JobResult; sink: CollectSink<string> }> {
    const env = StreamEnvironment.create({
      parallelism: 2,
      maxParallelism: K,
      checkpoint: { dir: ckpt.path, intervalMs: 20 },
      state: { ...variant.state, dir: work.path },
    });
    const sink = new CollectSink<string>();
    env
      .fromSource(new ScriptSource(steps), {
        uid: 'script',
        parallelism: 1,
        watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Rec>(0).withTimestampAssigner(
          (r) => r.ts,
        ),
      })
      .keyBy((r) => r.key)
      .window(TumblingEventTimeWindows.of(1000))
      .aggregate<number, number, string>(
        { createAccumulator: () => 0, add: (_, acc) => acc + 1, getResult: (acc) => acc },
        (key, w, count, out) => out.collect(`${key} [${w.start}, ${w.end}): ${count}`),
        { uid: 'count', name: 'count' },
      )
      .sinkTo(sink);
    return { result: await env.execute(jobName), sink };
  }

  async function run(
    steps: readonly Step[],
    variant: Variant,
    parallelism: number,
    /** parallelism of the map between source and keyBy (1: chained to the source) */
    spread = 1,
  ): Promise<{ out: string[]; controls: number | undefined }> {
    const env = StreamEnvironment.create({
      parallelism,
      maxParallelism: K,
      checkpoint: { dir: ckpt.path, intervalMs: 20 },
      state: { ...variant.state, dir: work.path },
    });
    const sink = new CollectSink<string>();
    env
      .fromSource(new ScriptSource(steps, firstRun.length), {
        uid: 'script',
        parallelism: 1,
        watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Rec>(0).withTimestampAssigner(
          (r) => r.ts,
        ),
      })
      // spread > 1: a rebalance from the source to `spread` subtasks, so that each keyed subtask
      // gets every control once through each of them
      .map((r) => r, { uid: 'spread', parallelism: spread })
      .keyBy((r) => r.key)
      .process(counting, { uid: 'count', name: 'count' })
      .sinkTo(sink);
    const result = await env.execute('kg-control');
    expect(result.status).toBe('finished');
    return {
      out: sink.records,
      controls: result.metrics.find((m) => m.uid === 'count')?.counters['keyGroupControls'],
    };
  }

  it.each(variants)('adopt, suspend, resume, drop ($name)', async (variant) => {
    const first = await run(firstRun, variant, 2);
    // adopted state is seen by the next record of the key group, on the subtask that owns it
    expect(first.out).toContain(`${A}:42`);
    expect(first.out).toContain(`${B}:8`);
    // a dropped key group starts empty
    expect(first.out.filter((o) => o.startsWith(`${G}:`))).toEqual([`${G}:1`, `${G}:1`]);
    // the adopted timer fired with the adopted state
    expect(first.out).toContain(`timer ${A}@700:42 wm 799`);
    // the suspended timer did not fire at watermark 599 nor 799, but once resumed
    expect(first.out.filter((o) => o.startsWith(`timer ${D}@`))).toEqual([
      `timer ${D}@500:1 wm 799`,
    ]);
    // the dropped key group's timer never fired, nor the timer the adopt replaced
    expect(first.out.filter((o) => o.startsWith(`timer ${C}@`))).toEqual([]);
    expect(first.out.filter((o) => o.startsWith(`timer ${A2}@`))).toEqual([]);
    // 4 controls, each applied once per keyed subtask
    expect(first.controls).toBe(4 * 2);

    // the final checkpoint holds the adopted state and not the dropped key group: restore it
    // with another parallelism and go on
    const second = await run(secondRun, variant, 3);
    expect([...second.out].sort()).toEqual([`${A}:43`, `${A2}:1`, `${B}:9`, `${C}:1`].sort());
  });

  it('a control broadcast through a rebalance is applied once per keyed subtask', async () => {
    // records before a control may overtake it on another input of a rebalance (only what
    // follows it is ordered), so only what follows is checked here
    const { out, controls } = await run(firstRun, variants[0] as Variant, 2, 2);
    expect(out).toContain(`${A}:42`);
    expect(out).toContain(`${B}:8`);
    // each keyed subtask got each of the 4 controls twice (once per map subtask)
    expect(controls).toBe(4 * 2);
  });

  it.each(variants)(
    'a window adopted mid-way fires with the adopted count ($name)',
    async (variant) => {
      const W = keyIn(3, 'w');
      const window = (contents: [number, number][], timers: number[]): StateValue => ({
        state: { __window_contents: { kind: 'map', entries: [[W, new Map(contents)]] } },
        timers: { e: timers.map((t): [string, number] => [W, t]), p: [] },
      });
      const steps: Step[] = [
        { records: [{ key: W, ts: 100 }] }, // replaced by the adopt
        {
          control: {
            kind: 'adopt',
            id: 'adopt-w',
            keyGroups: [{ start: 0, end: 16 }],
            checkpointId: 3,
            // [0, 1000) holds 5 records, [1000, 2000) 4 and gets none here: only its timer fires it
            state: new Map([
              [
                'count',
                new Map([
                  [
                    3,
                    window(
                      [
                        [0, 5],
                        [1000, 4],
                      ],
                      [999, 1999],
                    ),
                  ],
                ]),
              ],
            ]),
          },
        },
        {
          records: [
            { key: W, ts: 200 },
            { key: W, ts: 300 },
          ],
        },
      ];
      const { result, sink } = await countWindows(steps, variant, 'kg-window');
      expect(result.status).toBe('finished');
      expect([...sink.records].sort()).toEqual([`${W} [0, 1000): 7`, `${W} [1000, 2000): 4`]);
    },
  );

  it.each(variants)(
    'an adopted key group behind the watermark follows its floor until advance ($name)',
    async (variant) => {
      // p = 2: every key here is in subtask 0's range [0, 8), so its output comes in order
      const X0 = keyIn(1, 'x'); // moves the watermark
      const W = keyIn(3, 'w'); // adopted with a floor
      const Y = keyIn(4, 'y'); // not adopted: late as usual
      const V = keyIn(5, 'v'); // not adopted: its window fires as usual
      const U = keyIn(6, 'u'); // adopted with a floor, then dropped
      const steps: Step[] = [
        { records: [{ key: X0, ts: 2500 }] }, // watermark 2499
        {
          control: {
            kind: 'adopt',
            id: 'adopt-w',
            keyGroups: [span(3)],
            checkpointId: 3,
            watermark: 500,
            state: new Map([
              [
                'count',
                new Map<number, StateValue>([
                  [
                    3,
                    {
                      state: {
                        __window_contents: { kind: 'map', entries: [[W, new Map([[0, 5]])]] },
                      },
                      timers: { e: [[W, 999]], p: [] },
                    },
                  ],
                ]),
              ],
            ]),
          },
        },
        // W's record is behind the operator's watermark but not its floor: counted; Y's is late
        {
          records: [
            { key: W, ts: 700 },
            { key: Y, ts: 700 },
          ],
        },
        // watermark 3499: X0's window fires, W's adopted window (timer 999) waits for its floor
        {
          records: [
            { key: V, ts: 3100 },
            { key: X0, ts: 3500 },
          ],
        },
        { control: { kind: 'advance', id: 'advance-w-900', keyGroups: [span(3)], watermark: 900 } },
        { records: [{ key: X0, ts: 4500 }] }, // watermark 4499: V's and X0's windows fire
        // the floor reaches the operator's watermark: W's window fires and the floor goes
        { control: { kind: 'advance', id: 'advance-w', keyGroups: [span(3)], watermark: 5000 } },
        {
          records: [
            { key: W, ts: 5500 }, // window [5000, 6000)
            { key: W, ts: 800 }, // late now
          ],
        },
        {
          control: {
            kind: 'adopt',
            id: 'adopt-u',
            keyGroups: [span(6)],
            checkpointId: 4,
            watermark: 100,
            state: new Map(),
          },
        },
        { control: { kind: 'drop', id: 'drop-u', keyGroups: [span(6)] } },
        // U's floor went with the drop: late; watermark 6499 fires W's [5000, 6000) (no floor)
        {
          records: [
            { key: U, ts: 300 },
            { key: X0, ts: 6500 },
          ],
        },
        { records: [{ key: X0, ts: 7500 }] }, // watermark 7499
      ];
      const { result, sink } = await countWindows(steps, variant, 'kg-floor');
      expect(result.status).toBe('finished');
      const out = sink.records;
      // V's and X0's windows end at the same time: their order is free
      expect([...out.slice(0, 1), ...[...out.slice(1, 3)].sort(), ...out.slice(3)]).toEqual([
        `${X0} [2000, 3000): 1`,
        ...[`${V} [3000, 4000): 1`, `${X0} [3000, 4000): 1`].sort(),
        `${W} [0, 1000): 6`,
        `${X0} [4000, 5000): 1`,
        `${W} [5000, 6000): 1`,
        `${X0} [6000, 7000): 1`,
        `${X0} [7000, 8000): 1`,
      ]);
      const counters = result.metrics
        .filter((m) => m.uid === 'count')
        .map((m) => m.counters['lateRecordsDropped'] ?? 0);
      expect(counters.reduce((a, b) => a + b, 0)).toBe(3); // Y@700, W@800, U@300
    },
  );

  it('a process function sees the floor as the watermark of an adopted key', async () => {
    const steps: Step[] = [
      { records: [{ key: X, ts: 2000 }] }, // watermark 1999
      {
        control: {
          kind: 'adopt',
          id: 'adopt-a',
          keyGroups: [span(2)],
          checkpointId: 3,
          watermark: 500,
          state: new Map([['count', new Map([[2, group([[A, 41]], [[A, 700]])]])]]),
        },
      },
      { records: [{ key: A, ts: 600, timer: 650 }] },
      { records: [{ key: X, ts: 2500 }] }, // watermark 2499: A's timers wait for its floor
      { control: { kind: 'advance', id: 'advance-a', keyGroups: [span(2)], watermark: 800 } },
      { records: [{ key: A, ts: 900, timer: 2400 }] },
      { records: [{ key: X, ts: 3000 }] }, // watermark 2999: still behind for A
      { control: { kind: 'advance', id: 'advance-a2', keyGroups: [span(2)], watermark: 4000 } },
    ];
    const { out } = await run(steps, variants[0] as Variant, 2);
    expect(out.filter((o) => o.startsWith(`${A}`) || o.startsWith(`timer ${A}@`))).toEqual([
      `${A}:42`,
      `timer ${A}@650:42 wm 800`,
      `timer ${A}@700:42 wm 800`,
      `${A}:43`,
      `timer ${A}@2400:43 wm 2999`,
    ]);
  });
});

describe('checkKeyGroupControl', () => {
  it('refuses malformed controls with ILLEGAL_ARGUMENT, in one line', () => {
    const bad: unknown[] = [
      { kind: 'move', id: 'x', keyGroups: [] },
      { kind: 'drop', id: '', keyGroups: [] },
      { kind: 'drop', id: 'x', keyGroups: [{ start: 3, end: 3 }] },
      { kind: 'drop', id: 'x', keyGroups: [{ start: 0, end: 17 }] },
      { kind: 'drop', id: 'x', keyGroups: { start: 0, end: 1 } },
      { kind: 'adopt', id: 'x', keyGroups: [], checkpointId: 1, state: {} },
      { kind: 'adopt', id: 'x', keyGroups: [], checkpointId: 1, state: new Map(), watermark: '5' },
      { kind: 'advance', id: 'x', keyGroups: [] },
      { kind: 'advance', id: 'x', keyGroups: [], watermark: NaN },
    ];
    for (const control of bad) {
      let error: unknown;
      try {
        checkKeyGroupControl(control as KeyGroupControl, K);
      } catch (err) {
        error = err;
      }
      expect(TributaryError.is(error, 'ILLEGAL_ARGUMENT'), JSON.stringify(control)).toBe(true);
      expect((error as Error).message).not.toContain('\n');
    }
    expect(() =>
      checkKeyGroupControl({ kind: 'resume', id: 'x', keyGroups: [{ start: 0, end: 16 }] }, K),
    ).not.toThrow();
    expect(() =>
      checkKeyGroupControl({ kind: 'advance', id: 'x', keyGroups: [], watermark: 7 }, K),
    ).not.toThrow();
  });
});
