import { FileCheckpointStore } from '../checkpoint/checkpoint-storage.js';
import type { ExecuteOptions } from '../runtime/stream-environment.js';
import type { JobHandle } from '../runtime/job-handle.js';
import type { JobResult } from '../runtime/job-events.js';

/**
 * The two places where `tributary run` depends on the job lifecycle of the runtime, kept here so
 * that they change in one spot when the runtime grows `handle.stop()` (stop with a final
 * checkpoint) and resume-by-default:
 *
 * - {@link stopJob}: `handle.stop()` when the runtime has it (resolves with the final
 *   checkpoint's id), else `handle.cancel()`; a cancelled job resumes from its last periodic
 *   checkpoint, and an exactly-once sink re-commits what that checkpoint had pending.
 * - {@link startOptions}: resume from the newest intact checkpoint in the job's checkpoint
 *   directory (the default), or start from scratch.
 */

export interface StopOutcome {
  /** 'stop': final checkpoint taken; 'cancel': the runtime has no stop, the job was cancelled */
  readonly how: 'stop' | 'cancel';
  readonly finalCheckpointId: number | undefined;
}

interface Stoppable {
  stop(): Promise<number | undefined>;
}

function hasStop(handle: JobHandle): handle is JobHandle & Stoppable {
  return typeof (handle as unknown as Partial<Stoppable>).stop === 'function';
}

export async function stopJob(handle: JobHandle): Promise<StopOutcome> {
  if (hasStop(handle)) return { how: 'stop', finalCheckpointId: await handle.stop() };
  const result: JobResult = await handle.cancel();
  return { how: 'cancel', finalCheckpointId: result.lastCheckpointId };
}

export type StartMode = 'resume' | 'scratch';

export interface StartPlan {
  readonly execute: ExecuteOptions;
  /** the checkpoint resumed from, if any */
  readonly resumeFrom: number | undefined;
}

export async function startOptions(mode: StartMode, checkpointDir: string): Promise<StartPlan> {
  if (mode === 'scratch') return { execute: {}, resumeFrom: undefined };
  const store = await FileCheckpointStore.open(checkpointDir, Number.MAX_SAFE_INTEGER);
  if ((await store.highestId()) === 0) return { execute: {}, resumeFrom: undefined };
  // a directory with checkpoints: restore its newest intact one (corrupt newer ones are reported
  // by the runtime as STATE_CORRUPT if none is intact — never silently started from scratch)
  const { data } = await store.latest();
  return { execute: { restoreFrom: checkpointDir }, resumeFrom: data?.checkpointId };
}
