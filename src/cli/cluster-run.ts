import { spawn, type ChildProcess } from 'node:child_process';
import { ClusterWorker, type ClusterWorkerEvent } from '../cluster/cluster-worker.js';
import { DEFAULT_CLUSTER_SCOPE } from '../cluster/launch-workers.js';
import { acquireClient } from '../pravega/client/client-registry.js';
import type { ClientConfig } from '../pravega/client/pravega-client.js';
import type { StreamEnvironment } from '../runtime/stream-environment.js';
import { announceObservation, observeJob, type ObserveOptions } from './observe-adapter.js';
import type { Output } from './output.js';
import { usageError } from './usage-error.js';

/**
 * `tributary run job.ts --workers N` and `--join <job>` (docs/scale-out.md §1, §10): a worker
 * process runs the job as one {@link ClusterWorker}; `--workers N` starts N of them on this
 * machine (the first one sets the job's reader groups up, then the others join).
 */

/** Scope of the coordination tables unless `--cluster-scope` names another (created if missing). */
export { DEFAULT_CLUSTER_SCOPE } from '../cluster/launch-workers.js';

const STARTED = /^worker (\S+) of job .* started/m;

export function checkClusterController(config: ClientConfig): void {
  if (config.controllerUri.startsWith('embedded:')) {
    throw usageError(
      `--workers and --join need a Pravega server every worker reaches (--controller tcp://...); the embedded store ${config.controllerUri} belongs to one process`,
    );
  }
}

function describe(event: ClusterWorkerEvent): string | undefined {
  switch (event.type) {
    case 'leader-elected':
      return `leader: ${event.workerId} (term ${event.term})`;
    case 'member-dead':
      return `worker ${event.workerId} declared dead`;
    case 'dead-worker-handled':
      return `worker ${event.workerId}: ${event.readers.length} reader(s) taken offline at checkpoint ${event.completedId ?? '(none yet)'}, ${event.committed} transaction(s) committed, ${event.aborted} aborted`;
    case 'fenced':
      return `fenced: ${event.error.message}`;
    case 'error':
      return `cluster error: ${String(event.error)}`;
    default:
      return undefined;
  }
}

/** Runs this process as one worker of job `name` until it ends or a signal closes it. */
export async function runAsWorker(args: {
  readonly env: StreamEnvironment;
  readonly name: string;
  readonly pravega: ClientConfig;
  readonly scope: string | undefined;
  readonly workerId: string | undefined;
  readonly checkpointIntervalMs: number;
  readonly out: Output;
  /** the status page, metrics and logs of this worker (`--status-port`, `--metrics-port`, `--log-level`) */
  readonly observe?: ObserveOptions;
}): Promise<number> {
  checkClusterController(args.pravega);
  const scope = args.scope ?? DEFAULT_CLUSTER_SCOPE;
  const shared = await acquireClient(args.pravega);
  try {
    await shared.client.createScope(scope);
  } finally {
    await shared.release();
  }
  const { out } = args;
  const worker = await ClusterWorker.start(args.env, args.name, {
    pravega: args.pravega,
    scope,
    checkpointIntervalMs: args.checkpointIntervalMs,
    ...(args.workerId !== undefined ? { workerId: args.workerId } : {}),
    onEvent: (event) => {
      if (out.json) {
        // per checkpoint: too many lines for the log
        if (
          event.type !== 'checkpoint-completed' &&
          event.type !== 'checkpoint-proposed' &&
          event.type !== 'state-written'
        )
          out.jsonLine({
            ...event,
            ...(event.type === 'fenced' ? { error: event.error.message } : {}),
            ...(event.type === 'error' ? { error: String(event.error) } : {}),
          });
        return;
      }
      const text = describe(event);
      if (text !== undefined) out.line(text);
    },
  });
  if (out.json) out.jsonLine({ type: 'worker', job: args.name, workerId: worker.workerId });
  else
    out.line(
      `worker ${worker.workerId} of job ${args.name} started (coordination table in scope ${scope}); Ctrl-C stops this worker`,
    );
  const observation = await observeJob(worker.handle, args.observe ?? {}, {
    workerId: worker.workerId,
    read: () => worker.describeCluster(),
  });
  announceObservation(observation, out);
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    stoppedBy ??= signal;
    void worker.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await worker.handle.result;
    // a worker leaves as a crashed one would (docs/scale-out.md §10): what it did after the last
    // checkpoint complete across the workers is void and done again, exactly once
    const through = worker.completedThrough;
    out.line(
      stoppedBy === undefined
        ? `worker ${worker.workerId}: job ${result.status}`
        : `worker ${worker.workerId}: stopped by ${stoppedBy}; its part of the job goes on from ${through > 0 ? `checkpoint ${through}` : 'the start'} in the other workers, or when the job runs again`,
    );
    return 0;
  } catch (err) {
    out.line(`worker ${worker.workerId}: ${String(err)}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await observation.close();
  }
}

const PORT_OPTIONS = ['--status-port', '--metrics-port'];

/**
 * The command line of this process with `--workers N` replaced by `--join <name>`, for worker
 * `index` (0-based): a `--status-port` / `--metrics-port` P other than 0 becomes P + index, so
 * that the workers on one machine each serve their own page (0 stays 0: a free port each).
 */
export function workerArgv(argv: readonly string[], name: string, index = 0): string[] {
  const out: string[] = [];
  const shift = (value: string): string => {
    const port = Number(value);
    return Number.isInteger(port) && port > 0 ? String(port + index) : value;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--workers') {
      i++;
      continue;
    }
    if (a.startsWith('--workers=')) continue;
    if (PORT_OPTIONS.includes(a) && i + 1 < argv.length) {
      out.push(a, shift(argv[++i]!));
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0 && PORT_OPTIONS.includes(a.slice(0, eq))) {
      out.push(`${a.slice(0, eq)}=${shift(a.slice(eq + 1))}`);
      continue;
    }
    out.push(a);
  }
  const dashes = out.indexOf('--');
  const join = ['--join', name];
  if (dashes < 0) out.push(...join);
  else out.splice(dashes, 0, ...join);
  return out;
}

/**
 * Starts `n` worker processes of job `name` on this machine (this command line with `--join`),
 * their output prefixed `[w<i>]`; the first one first, the others once it runs. Signals go to
 * every worker. @returns the exit code once every worker ended.
 */
export async function spawnWorkers(n: number, name: string, out: Output): Promise<number> {
  const script = process.argv[1]!;
  const children: ChildProcess[] = [];
  const exits: Promise<number>[] = [];
  const start = (index: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const argv = workerArgv(process.argv.slice(2), name, index);
      const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let seen = '';
      const forward = (chunk: Buffer): void => {
        const text = chunk.toString();
        seen += text;
        if (STARTED.test(seen)) resolve();
        for (const line of text.split('\n')) if (line !== '') out.line(`[w${index}] ${line}`);
      };
      child.stdout?.on('data', forward);
      child.stderr?.on('data', forward);
      exits.push(
        new Promise<number>((done) =>
          child.on('exit', (code, signal) => {
            out.line(`[w${index}] exited (${code ?? signal})`);
            resolve();
            done(code ?? 1);
          }),
        ),
      );
    });
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const c of children) if (c.exitCode === null) c.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    out.line(`starting ${n} workers of job ${name}`);
    await start(0);
    await Promise.all(Array.from({ length: n - 1 }, (_, i) => start(i + 1)));
    const codes = await Promise.all(exits);
    return Math.max(0, ...codes);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
