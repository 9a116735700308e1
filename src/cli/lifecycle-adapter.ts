import { FileCheckpointStore } from '../checkpoint/checkpoint-storage.js';
import type { ExecuteOptions } from '../runtime/stream-environment.js';
import type { JobHandle } from '../runtime/job-handle.js';

/**
 * The two places where `tributary run` meets the job lifecycle of the runtime:
 *
 * - {@link stopJob}: `handle.stop()` — a final checkpoint, its transactions committed; resolves
 *   with its id. (The CLI handles the signals itself: `stopOnSignals: false`.)
 * - {@link startOptions}: resume from the latest checkpoint in the job's checkpoint directory (the
 *   runtime's default), or start from scratch — which the runtime refuses over existing
 *   checkpoints unless duplicates are accepted (`--allow-duplicates`).
 */

export interface StopOutcome {
  readonly finalCheckpointId: number | undefined;
}

export async function stopJob(handle: JobHandle): Promise<StopOutcome> {
  return { finalCheckpointId: await handle.stop() };
}

export type StartMode = 'resume' | 'scratch';

export interface StartPlan {
  readonly execute: ExecuteOptions;
  /** the newest checkpoint in the directory, which a resume starts from (for the start line) */
  readonly resumeFrom: number | undefined;
}

export async function startOptions(
  mode: StartMode,
  checkpointDir: string,
  allowDuplicates = false,
): Promise<StartPlan> {
  const common = { stopOnSignals: false, ...(allowDuplicates ? { allowDuplicates } : {}) };
  if (mode === 'scratch') {
    return { execute: { ...common, startFrom: 'scratch' }, resumeFrom: undefined };
  }
  const store = await FileCheckpointStore.open(checkpointDir, Number.MAX_SAFE_INTEGER);
  const { data } = (await store.highestId()) === 0 ? { data: undefined } : await store.latest();
  return { execute: { ...common, startFrom: 'latest' }, resumeFrom: data?.checkpointId };
}
