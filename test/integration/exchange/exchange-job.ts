/**
 * Child process of the exchange crash test: Pravega source (event time = seq ms) → keyBy(key),
 * either through a Pravega exchange edge (`exchange: true`) or the local channel → tumbling
 * event-time windows of 50 ms per key, counting → exactly-once Pravega sink. Resumes from its
 * checkpoint directory by itself. Exits 0 once the bounded job finished.
 */
import { keyByExchange } from '../../../src/cluster/exchange/index.js';
import { parseStreamCut } from '../../../src/pravega/client/stream-cut.js';
import type { DataStream } from '../../../src/runtime/data-stream.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { PravegaSource } from '../../../src/source/pravega/pravega-source.js';
import type { Source } from '../../../src/source/source.js';
import type {
  PravegaEnumeratorState,
  PravegaReaderSplit,
} from '../../../src/source/pravega/pravega-split.js';
import type { Seq } from '../../support/sequences.js';
import { countWindows } from '../cluster/keyed-window-job.js';
import type { ExchangeJobArgs } from './exchange-job-shared.js';

/**
 * Beyond every timestamp: windows fire at the end of input, so no record is ever late and the
 * counts show every record exactly once (with a tighter bound, a reader that reads one segment
 * ahead of another, or a segment handed between readers, makes records late, in both jobs).
 */
const OUT_OF_ORDERNESS_MS = 100_000;

/**
 * The source whose readers take their split (and with it join the reader group) `delayMs` late:
 * checkpoints triggered meanwhile start while the readers are not in the group yet.
 */
function joinLate<T>(
  source: PravegaSource<T>,
  delayMs: number,
): Source<T, PravegaReaderSplit, PravegaEnumeratorState> {
  return {
    boundedness: source.boundedness,
    externallyInducedCheckpoints: source.externallyInducedCheckpoints,
    splitSerializer: source.splitSerializer,
    enumeratorStateSerializer: source.enumeratorStateSerializer,
    preflight: (ctx) => source.preflight(ctx),
    createEnumerator: (ctx) => source.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => source.restoreEnumerator(ctx, state),
    describeState: (state) => source.describeState(state),
    createReader: (ctx) => {
      const reader = source.createReader(ctx);
      const addSplits = reader.addSplits.bind(reader);
      const close = reader.close.bind(reader);
      let timer: NodeJS.Timeout | undefined;
      reader.addSplits = (splits) => {
        timer = setTimeout(() => addSplits(splits), delayMs);
      };
      reader.close = (reason) => {
        clearTimeout(timer);
        return close(reason);
      };
      return reader;
    },
  };
}

const args = JSON.parse(process.argv[2] ?? '{}') as ExchangeJobArgs;
const env = StreamEnvironment.create({
  parallelism: args.parallelism,
  pravega: args.pravega,
  checkpoint: { intervalMs: 100, timeoutMs: 30_000, dir: args.checkpointDir, retained: 3 },
  restart: { type: 'fixed-delay', maxAttempts: 3, delayMs: 100 },
});
const source = PravegaSource.forStream(args.input, { end: parseStreamCut(args.end) })
  .json<Seq>()
  .timestamps((s) => s.seq)
  .rateLimit(args.ratePerSecond / args.parallelism);
const input: DataStream<Seq> = env.fromSource(
  args.readerJoinDelayMs === undefined ? source : joinLate(source, args.readerJoinDelayMs),
  {
    name: 'input',
    uid: 'input',
    watermarkStrategy: WatermarkStrategy.forBoundedOutOfOrderness<Seq>(OUT_OF_ORDERNESS_MS),
  },
);
const keyed = args.exchange
  ? keyByExchange(env, input, (s) => s.key, {
      scope: args.scope,
      uid: 'by-key',
      segments: 3,
    })
  : input.keyBy((s) => s.key);
// no record is ever late here (see OUT_OF_ORDERNESS_MS): one that is was read twice — after
// its window fired with it — and goes to the output as `count: -1`, which the test refuses
countWindows(keyed, args.output);

const handle = env.execute(args.jobName);
handle.events$.subscribe((e) => {
  if (e.type === 'status') console.log(`status ${e.status}`);
  if (e.type === 'checkpoint-completed')
    console.log(`checkpoint ${e.checkpointId} ${Date.now() % 100000}`);
  if (e.type === 'warning') console.log(`warning ${e.message}`);
  if (e.type === 'restart') console.log(`restart: ${String(e.error)}`);
  if (process.env.EXCHANGE_JOB_DEBUG && e.type !== 'metrics')
    console.log(`${Date.now() % 100000} ${JSON.stringify(e).slice(0, 400)}`);
});
handle.result.then(
  (result) => {
    console.log(`done ${result.status}`);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(`failed: ${String(err)}`);
    process.exit(1);
  },
);
