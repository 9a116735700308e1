import type { Command } from 'commander';
import { TributaryError } from '../../errors.js';
import { headCut, streamCutToText, tailCut } from '../../pravega/client/stream-cut.js';
import type {
  RetentionPolicy,
  ScalingPolicy,
  StreamConfig,
  StreamId,
} from '../../pravega/controller/types.js';
import { intOption, parseScopeArg, parseStreamArg } from '../args.js';
import { withClient } from '../connection.js';
import { contextOf } from '../context.js';
import { formatBytes } from '../output.js';
import { usageError } from '../usage-error.js';

/** `tributary streams list|create|info|seal|delete` */

interface CreateOptions {
  readonly segments?: number;
  readonly eventRate?: number;
  readonly dataRate?: number;
  readonly scaleFactor: number;
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
}

/** The stream config the create options ask for (pure). */
export function streamConfigOf(options: CreateOptions): StreamConfig {
  if (options.eventRate !== undefined && options.dataRate !== undefined) {
    throw usageError('--event-rate and --data-rate exclude each other: pick one scaling policy');
  }
  if (options.retentionMs !== undefined && options.retentionBytes !== undefined) {
    throw usageError('--retention-ms and --retention-bytes exclude each other');
  }
  const minSegments = options.segments ?? 1;
  const scalingPolicy: ScalingPolicy =
    options.eventRate !== undefined
      ? {
          type: 'byEventRate',
          targetRate: options.eventRate,
          scaleFactor: options.scaleFactor,
          minSegments,
        }
      : options.dataRate !== undefined
        ? {
            type: 'byDataRate',
            targetRate: options.dataRate,
            scaleFactor: options.scaleFactor,
            minSegments,
          }
        : { type: 'fixed', minSegments };
  const retentionPolicy: RetentionPolicy | undefined =
    options.retentionMs !== undefined
      ? { type: 'time', minMillis: BigInt(options.retentionMs) }
      : options.retentionBytes !== undefined
        ? { type: 'size', minBytes: BigInt(options.retentionBytes) }
        : undefined;
  return { scalingPolicy, ...(retentionPolicy ? { retentionPolicy } : {}) };
}

function describeScaling(policy: ScalingPolicy): string {
  switch (policy.type) {
    case 'fixed':
      return `fixed, ${policy.minSegments} segment(s)`;
    case 'byEventRate':
      return `by event rate: ${policy.targetRate} events/s per segment, factor ${policy.scaleFactor}, at least ${policy.minSegments}`;
    case 'byDataRate':
      return `by data rate: ${policy.targetRate} KiB/s per segment, factor ${policy.scaleFactor}, at least ${policy.minSegments}`;
  }
}

function describeRetention(policy: RetentionPolicy | undefined): string {
  if (!policy) return 'none';
  return policy.type === 'time'
    ? `keep at least ${policy.minMillis} ms`
    : `keep at least ${formatBytes(policy.minBytes)}`;
}

function name(id: StreamId): string {
  return `${id.scope}/${id.stream}`;
}

export function registerStreams(program: Command): void {
  const streams = program
    .command('streams')
    .description('list, create, inspect, seal and delete streams');

  streams
    .command('list')
    .description('list the streams of a scope')
    .argument('<scope>', 'scope name', (text: string) => parseScopeArg(text))
    .action(async (scope: string, _opts: unknown, command: Command) => {
      const { out, controller } = contextOf(command);
      const rows = await withClient(controller(), async (client) => {
        if (!(await client.controller.scopeExists(scope))) {
          throw new TributaryError('SCOPE_NOT_FOUND', `scope ${scope} does not exist`);
        }
        const found: { stream: string; segments: number; sealed: boolean }[] = [];
        for await (const id of client.controller.listStreams(scope)) {
          const current = await client.controller.getCurrentSegments(id);
          found.push({ stream: name(id), segments: current.length, sealed: current.length === 0 });
        }
        return found.sort((a, b) => a.stream.localeCompare(b.stream));
      });
      out.table(['stream', 'segments', 'sealed'], rows);
    });

  streams
    .command('create')
    .description('create a stream (no error if it exists); fixed scaling unless a rate is given')
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .option(
      '--segments <n>',
      'segments (fixed), or the minimum (with a rate)',
      intOption('--segments', 1, 10_000),
    )
    .option('--event-rate <n>', 'scale by events/s per segment', intOption('--event-rate', 1))
    .option('--data-rate <n>', 'scale by KiB/s per segment', intOption('--data-rate', 1))
    .option(
      '--scale-factor <n>',
      'segments a hot segment splits into',
      intOption('--scale-factor', 2, 100),
      2,
    )
    .option('--retention-ms <n>', 'truncate data older than this', intOption('--retention-ms', 1))
    .option('--retention-bytes <n>', 'truncate beyond this size', intOption('--retention-bytes', 1))
    .action(async (id: StreamId, opts: CreateOptions, command: Command) => {
      const { out, controller } = contextOf(command);
      const config = streamConfigOf(opts);
      const created = await withClient(controller(), (client) => client.createStream(id, config));
      out.result({ stream: name(id), created, config }, () =>
        out.line(
          created
            ? `created stream ${name(id)} (${describeScaling(config.scalingPolicy)})`
            : `stream ${name(id)} already exists`,
        ),
      );
    });

  streams
    .command('info')
    .description('configuration, segments, head and tail cuts, and size of a stream')
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .action(async (id: StreamId, _opts: unknown, command: Command) => {
      const { out, controller } = contextOf(command);
      const info = await withClient(controller(), async (client) => {
        const config = await client.controller.getStreamConfig(id);
        const current = await client.controller.getCurrentSegments(id);
        const head = await headCut(client.controller, id);
        const tail = await tailCut(client.controller, client.segmentStore, id);
        const ranges = await client.batchClient().listSegmentRanges(id, head, tail);
        const bytes = ranges.reduce((sum, r) => sum + (r.endOffset - r.startOffset), 0n);
        return {
          stream: name(id),
          sealed: current.length === 0,
          config,
          segments: current.map((s) => ({
            segmentId: s.segment.segmentId,
            epoch: Number(s.segment.segmentId >> 32n),
            minKey: s.minKey,
            maxKey: s.maxKey,
          })),
          bytes,
          head: streamCutToText(head),
          tail: streamCutToText(tail),
        };
      });
      out.result(info, () => {
        out.line(`stream     ${info.stream}${info.sealed ? ' (sealed)' : ''}`);
        out.line(`scaling    ${describeScaling(info.config.scalingPolicy)}`);
        out.line(`retention  ${describeRetention(info.config.retentionPolicy)}`);
        out.line(`size       ${formatBytes(info.bytes)} between head and tail`);
        out.line(`head cut   ${info.head}`);
        out.line(`tail cut   ${info.tail}`);
        if (info.segments.length > 0) {
          out.line('');
          out.table(
            ['segment', 'epoch', 'key range'],
            info.segments.map((s) => ({
              segment: s.segmentId,
              epoch: s.epoch,
              'key range': `[${s.minKey.toFixed(3)}, ${s.maxKey.toFixed(3)})`,
            })),
          );
        }
      });
    });

  streams
    .command('seal')
    .description('seal a stream: no more writes, readers reach its end')
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .action(async (id: StreamId, _opts: unknown, command: Command) => {
      const { out, controller } = contextOf(command);
      await withClient(controller(), (client) => client.sealStream(id));
      out.result({ stream: name(id), sealed: true }, () => out.line(`sealed stream ${name(id)}`));
    });

  streams
    .command('delete')
    .description('delete a sealed stream and its data')
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .option('--seal', 'seal it first if it is not sealed yet', false)
    .action(async (id: StreamId, opts: { seal: boolean }, command: Command) => {
      const { out, controller } = contextOf(command);
      const deleted = await withClient(controller(), async (client) => {
        if (opts.seal && (await client.controller.streamExists(id))) {
          const current = await client.controller.getCurrentSegments(id);
          if (current.length > 0) await client.sealStream(id);
        }
        try {
          return await client.deleteStream(id);
        } catch (err) {
          if (TributaryError.is(err, 'STREAM_NOT_SEALED')) {
            throw new TributaryError(
              'STREAM_NOT_SEALED',
              `stream ${name(id)} is not sealed: seal it first (tributary streams seal ${name(id)}) or pass --seal`,
              { cause: err },
            );
          }
          throw err;
        }
      });
      if (!deleted)
        throw new TributaryError('STREAM_NOT_FOUND', `stream ${name(id)} does not exist`);
      out.result({ stream: name(id), deleted }, () => out.line(`deleted stream ${name(id)}`));
    });
}
