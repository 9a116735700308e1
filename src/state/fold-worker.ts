/**
 * Worker thread entry: folds chains of state pieces (read, verify, merge, encode, write one
 * fsynced file) so that the task's thread never spends time on consolidation, and makes
 * checkpoints' piece files durable (one synchronous step here, no event-loop turns there).
 */
import { parentPort } from 'node:worker_threads';
import { TributaryError, errorMessage } from '../errors.js';
import { foldPieces } from './chain-folds.js';
import { commitPieceFileSync, writeSections } from './state-pieces.js';
import type { CommitReply, CommitRequest, FoldReply, FoldRequest } from './fold-thread.js';

const port = parentPort;
if (port === null) throw new Error('fold-worker runs as a worker thread');
port.on('message', (request: FoldRequest | CommitRequest) => {
  if (request.type === 'commit') port.postMessage(commit(request));
  else void fold(request).then((reply) => port.postMessage(reply));
});

function commit({ id, dir, renames, file }: CommitRequest): CommitReply {
  try {
    return { id, ok: true, ...commitPieceFileSync(dir, renames, file) };
  } catch (err) {
    return { id, ok: false, message: errorMessage(err) };
  }
}

async function fold({ id, path, jobs }: FoldRequest): Promise<FoldReply> {
  let index = 0;
  try {
    // one key group in memory at a time: each section is written as soon as it is folded
    async function* folded(): AsyncGenerator<{ bytes: Buffer; kind: 'full' | 'delta' }> {
      for (; index < jobs.length; index++) {
        const job = jobs[index] as FoldRequest['jobs'][number];
        yield { bytes: foldPieces(job), kind: job.from === 0 ? 'full' : 'delta' };
      }
    }
    return { id, ok: true, refs: await writeSections(path, folded()) };
  } catch (err) {
    return {
      id,
      ok: false,
      failedJob: index,
      code: TributaryError.is(err) ? err.code : undefined,
      message: errorMessage(err),
    };
  }
}
