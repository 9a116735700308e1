import { spawn, type ChildProcess } from 'node:child_process';
import { TributaryError } from '../errors.js';
import type { ScaleOutLauncher } from '../runtime/scale-out-hook.js';
import { ClusterWorker } from './cluster-worker.js';

/**
 * `env.execute(name, { workers: N })` (docs/scale-out.md §1): this process becomes the job's
 * first worker and, once it is a member, starts N − 1 more worker processes running this same
 * script with the same arguments (and `TRIBUTARY_WORKER_OF=<name>` in their environment). In
 * those, `execute` joins the job: a spawned worker never spawns.
 */

/** Scope of the coordination tables unless another is named (created if missing). */
export const DEFAULT_CLUSTER_SCOPE = 'tributary';

/** Set in the environment of the worker processes that `execute(name, { workers })` starts. */
export const WORKER_OF_ENV = 'TRIBUTARY_WORKER_OF';

/**
 * True in a worker process started by `execute(name, { workers })`: it runs the whole script
 * again, so one-time setup (creating streams is fine, writing input is not) belongs behind
 * `if (!isSpawnedWorker())`.
 */
export function isSpawnedWorker(): boolean {
  return (process.env[WORKER_OF_ENV] ?? '') !== '';
}

export const launchWorkers: ScaleOutLauncher = (env, jobName, { workers, clusterScope }) => {
  const pravega = env.options.pravega;
  const uri = typeof pravega === 'string' ? pravega : pravega?.['controllerUri'];
  if (typeof uri !== 'string' || uri.startsWith('embedded:')) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `execute: workers > 1 needs the job option pravega to name a server every worker reaches (tcp://host:9090), got ${typeof uri === 'string' ? uri : 'none'}: the embedded store belongs to one process`,
    );
  }
  const spawned = isSpawnedWorker();
  const script = process.argv[1];
  if (!spawned && script === undefined) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'execute: workers > 1 starts this script again in each worker process, but this process runs no script file (node -e / a REPL): run the job from a file',
    );
  }
  const { worker, ready } = ClusterWorker.launch(env, jobName, {
    pravega: pravega!,
    scope: clusterScope ?? DEFAULT_CLUSTER_SCOPE,
    createScope: true,
    ...(env.options.checkpoint.intervalMs !== undefined
      ? { checkpointIntervalMs: env.options.checkpoint.intervalMs }
      : {}),
  });
  const handle = worker.handle;
  const children: ChildProcess[] = [];
  const onSignal = (): void => {
    void worker.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // a spawned worker whose first worker is gone ends too
  const onDisconnect = (): void => void worker.close();
  if (spawned && process.channel !== undefined) {
    process.channel.unref();
    process.once('disconnect', onDisconnect);
  }
  let ending = false;
  const killChildren = (): void => {
    ending = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  process.once('exit', killChildren);
  if (!spawned) {
    void ready.then(
      () => {
        if (handle.status === 'running' || handle.status === 'created')
          for (let i = 1; i < workers; i++) {
            const child = spawnWorker(script!, jobName);
            children.push(child);
            child.on('error', (err) =>
              process.emitWarning(
                `job ${jobName}: a worker process failed to start: ${err.message}`,
              ),
            );
            // the others take its segments over; the job goes on with fewer workers
            child.on('exit', (code, signal) => {
              if (!ending)
                process.emitWarning(
                  `job ${jobName}: worker process ${child.pid} exited (${code ?? signal}); the other workers take over its segments`,
                );
            });
          }
      },
      () => undefined, // the handle reports it
    );
  }
  const done = (): void => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('disconnect', onDisconnect);
    process.removeListener('exit', killChildren);
    killChildren();
  };
  handle.result.then(done, done);
  return handle;
};

function spawnWorker(script: string, jobName: string): ChildProcess {
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    env: { ...process.env, [WORKER_OF_ENV]: jobName },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.channel?.unref();
  child.unref();
  return child;
}
