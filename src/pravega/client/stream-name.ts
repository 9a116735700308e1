import { TributaryError } from '../../errors.js';
import type { StreamId } from '../controller/types.js';

/** `'scope/stream'` (or a StreamId, returned as it is) as a StreamId; ILLEGAL_ARGUMENT otherwise. */
export function parseStreamName(stream: string | StreamId): StreamId {
  if (typeof stream !== 'string') return stream;
  const parts = stream.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new TributaryError(
      'ILLEGAL_ARGUMENT',
      `stream ${JSON.stringify(stream)} must be written scope/stream`,
    );
  }
  return { scope: parts[0], stream: parts[1] };
}
