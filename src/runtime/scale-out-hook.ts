import type { JobHandle } from './job-handle.js';
import type { StreamEnvironment } from './stream-environment.js';

/**
 * How `execute(name, { workers: N })` with N > 1 runs a job in several worker processes. The
 * runtime does not know how (it never imports src/cluster): the package entry registers the
 * scale-out module's launcher here (src/index.ts).
 */
export type ScaleOutLauncher = (
  env: StreamEnvironment,
  jobName: string,
  options: ScaleOutOptions,
) => JobHandle;

export interface ScaleOutOptions {
  /** worker processes of the job on this machine, this one included */
  readonly workers: number;
  /** scope of the workers' coordination table */
  readonly clusterScope: string | undefined;
}

let launcher: ScaleOutLauncher | undefined;

export function registerScaleOut(l: ScaleOutLauncher): void {
  launcher = l;
}

export function scaleOutLauncher(): ScaleOutLauncher | undefined {
  return launcher;
}
