import type { Command } from 'commander';
import { headCut, streamCutToText, tailCut } from '../../pravega/client/stream-cut.js';
import type { StreamId } from '../../pravega/controller/types.js';
import { parseStreamArg } from '../args.js';
import { withClient } from '../connection.js';
import { contextOf } from '../context.js';
import { usageError } from '../usage-error.js';

/** `tributary cut <scope/stream> [--head|--tail]`: a stream cut in the client's text form. */
export function registerCut(program: Command): void {
  program
    .command('cut')
    .description(
      "print a stream cut (the client's text form, usable with tail --from and PravegaSource start/end)",
    )
    .argument('<scope/stream>', 'stream name', (text: string) => parseStreamArg(text))
    .option('--head', 'the first readable position')
    .option('--tail', 'the end of the stream now (default)')
    .action(async (id: StreamId, opts: { head?: boolean; tail?: boolean }, command: Command) => {
      const { out, controller } = contextOf(command);
      if (opts.head && opts.tail) throw usageError('--head and --tail exclude each other');
      const which = opts.head ? 'head' : 'tail';
      const cut = await withClient(controller(), (client) =>
        which === 'head'
          ? headCut(client.controller, id)
          : tailCut(client.controller, client.segmentStore, id),
      );
      const text = streamCutToText(cut);
      out.result(
        {
          stream: `${id.scope}/${id.stream}`,
          position: which,
          cut: text,
          segments: Object.fromEntries(
            [...cut.positions].map(([segment, offset]) => [segment.toString(), offset.toString()]),
          ),
        },
        () => out.line(text),
      );
    });
}
