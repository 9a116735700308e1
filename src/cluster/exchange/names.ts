import { createHash } from 'node:crypto';
import type { StreamId } from '../../pravega/controller/types.js';

/**
 * Names of an exchange edge's Pravega resources (docs/scale-out.md §2): the internal stream
 * `<scope>/_tributary-x-<job>-<edgeUid>` and the reader group `<job>-x-<edgeUid>`. Job names and
 * uids may hold any text: when either is not already a valid name part (`A-Za-z0-9.-`) or the
 * name would be too long, the parts are cleaned and shortened and a hash of the exact texts keeps
 * distinct edges distinct.
 */

const MAX_NAME = 250;

function clean(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

function joined(jobName: string, edgeUid: string, separator: string, room: number): string {
  const plain = `${jobName}${separator}${edgeUid}`;
  if (plain.length <= room && clean(jobName) === jobName && clean(edgeUid) === edgeUid) {
    return plain;
  }
  const hash = createHash('sha256').update(`${jobName}\u0000${edgeUid}`).digest('hex').slice(0, 12);
  const half = Math.floor((room - hash.length - separator.length - 1) / 2);
  return `${clean(jobName).slice(0, half)}${separator}${clean(edgeUid).slice(0, half)}-${hash}`;
}

/** `<job>-x-<edgeUid>` */
export function exchangeReaderGroupName(jobName: string, edgeUid: string): string {
  return joined(jobName, edgeUid, '-x-', MAX_NAME);
}

/** How the name of every exchange edge's stream starts. */
export const EDGE_STREAM_PREFIX = '_tributary-x-';

/** `<scope>/_tributary-x-<job>-<edgeUid>` */
export function exchangeStreamId(scope: string, jobName: string, edgeUid: string): StreamId {
  const prefix = EDGE_STREAM_PREFIX;
  return { scope, stream: prefix + joined(jobName, edgeUid, '-', MAX_NAME - prefix.length) };
}

/** `_tributary-state-<job>`: the stream of a scaled-out job's keyed state (docs/scale-out.md §8) */
export function stateStreamName(jobName: string): string {
  const prefix = '_tributary-state-';
  const room = MAX_NAME - prefix.length;
  if (jobName.length <= room && clean(jobName) === jobName) return prefix + jobName;
  const hash = createHash('sha256').update(jobName).digest('hex').slice(0, 12);
  return `${prefix}${clean(jobName).slice(0, room - hash.length - 1)}-${hash}`;
}
