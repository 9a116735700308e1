/**
 * Starts and kills worker processes of the stateless cluster job (stateless-worker.ts) and
 * watches the job's reader group: shared by the scale-out kill test and bench/cluster.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PravegaClient } from '../../../src/pravega/client/pravega-client.js';
import { ReaderGroup } from '../../../src/pravega/client/reader-group/reader-group.js';

const CHILD = fileURLToPath(new URL('./stateless-worker.ts', import.meta.url));

export interface WorkerArgs {
  readonly pravega: string;
  readonly scope: string;
  readonly job: string;
  readonly input: string;
  readonly output: string;
  readonly parallelism: number;
  readonly checkpointIntervalMs: number;
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  /** exchange-count-worker.ts: the windowed (event-time) job instead of the running count */
  readonly windows?: boolean;
}

export class WorkerProcess {
  output = '';
  workerId: string | undefined;
  exited = false;
  private readonly started: Promise<string>;

  constructor(readonly child: ChildProcess) {
    let resolveStarted!: (id: string) => void;
    let rejectStarted!: (err: Error) => void;
    this.started = new Promise((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    this.started.catch(() => undefined);
    const onData = (chunk: Buffer): void => {
      this.output += chunk.toString();
      const m = /^started (\S+) /m.exec(this.output);
      if (m?.[1] !== undefined && this.workerId === undefined) {
        this.workerId = m[1];
        resolveStarted(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      this.exited = true;
      rejectStarted(
        new Error(`worker exited (${code ?? signal}) before it started:\n${this.output}`),
      );
    });
  }

  /** @param script the worker's script (default: the stateless job's, stateless-worker.ts) */
  static spawn(args: WorkerArgs, script: string = CHILD): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WorkerProcess(child);
  }

  /** Resolves with the worker id once it is a member of the cluster (its readers joined). */
  async whenStarted(timeoutMs: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`worker did not start within ${timeoutMs} ms:\n${this.output}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.started, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Waits for the process to be gone (after kill). */
  async gone(): Promise<void> {
    while (!this.exited) await sleep(20);
  }
}

/** Which worker owns how many segments (reader ids are `<workerId>-<subtask>`), and unowned ones. */
export async function ownership(
  client: PravegaClient,
  scopedGroup: string,
): Promise<{ byWorker: Map<string, number>; unassigned: number }> {
  const slash = scopedGroup.indexOf('/');
  const group = await ReaderGroup.get(
    client,
    scopedGroup.slice(0, slash),
    scopedGroup.slice(slash + 1),
  );
  const { assigned, unassigned } = await group.getAssignments();
  const byWorker = new Map<string, number>();
  for (const reader of assigned.values()) {
    const worker = reader.replace(/-\d+$/, '');
    byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
  }
  return { byWorker, unassigned: unassigned.length };
}

/** Polls until `done` holds; @returns ms it took, or undefined past the deadline. */
export async function timeUntil(
  done: () => Promise<boolean>,
  since: number,
  deadlineMs: number,
): Promise<number | undefined> {
  while (Date.now() - since < deadlineMs) {
    if (await done().catch(() => false)) return Date.now() - since;
    await sleep(50);
  }
  return undefined;
}
