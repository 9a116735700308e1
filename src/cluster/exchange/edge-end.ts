import type { PravegaClient } from '../../pravega/client/pravega-client.js';
import type { StreamId } from '../../pravega/controller/types.js';

/**
 * The end of an exchange edge in a bounded job. The receiving side reads the internal stream
 * through a reader group, which reports the end of its data once every segment is sealed and read;
 * so the stream is sealed once every sending subtask's last transaction — the one pre-committed
 * on the first checkpoint after its end of input — is committed and merged. Sealing earlier
 * would refuse a sender's last commit; later changes nothing.
 *
 * Counted per execution attempt in this process (every sending subtask of one attempt runs here).
 * A restart starts a new count: the restored senders end again at once (their sources restore at
 * their end), commit an empty last transaction each, and seal — sealing twice is harmless.
 * Across worker processes the count moves to the job's coordination table (docs/scale-out.md §6).
 */
const finished = new Map<string, Set<number>>();

export interface SenderEnd {
  readonly client: PravegaClient;
  readonly stream: StreamId;
  /** runId and attempt of the execution the sender belongs to */
  readonly run: string;
  readonly subtask: number;
  readonly parallelism: number;
}

/** Records that `subtask`'s last transaction is merged; seals the stream after the last one. */
export async function senderFinished(end: SenderEnd): Promise<boolean> {
  const key = `${end.stream.scope}/${end.stream.stream}|${end.run}`;
  let done = finished.get(key);
  if (done === undefined) {
    done = new Set();
    finished.set(key, done);
  }
  done.add(end.subtask);
  if (done.size < end.parallelism) return false;
  finished.delete(key);
  await end.client.controller.sealStream(end.stream);
  return true;
}
