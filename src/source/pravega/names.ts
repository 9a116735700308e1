import { createHash } from 'node:crypto';

/**
 * Deterministic names: the reader group of a source is named from the job and the source uid —
 * unique per source, stable across restarts and processes — and its readers from the subtask.
 */

function sanitize(text: string, max: number): string {
  const cleaned = text.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
  return cleaned.slice(0, max) || 'x';
}

export function readerGroupName(jobName: string, sourceUid: string): string {
  const hash = createHash('sha256')
    .update(`${jobName}\u0000${sourceUid}`)
    .digest('hex')
    .slice(0, 12);
  return `${sanitize(jobName, 80)}-${sanitize(sourceUid, 80)}-${hash}`;
}

export function readerId(group: string, subtask: number): string {
  return `${group.slice(0, 200)}-r${subtask}`;
}

const CHECKPOINT_NAME = /^chk-(\d+)-/;

/** The reader-group checkpoint placed for job checkpoint `id` (unique per enumerator instance). */
export function checkpointName(id: number, instance: string): string {
  return `chk-${id}-${instance}`;
}

/** The job checkpoint id a marker stands for, or undefined for a marker that is not ours. */
export function checkpointIdOf(name: string): number | undefined {
  const m = CHECKPOINT_NAME.exec(name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
