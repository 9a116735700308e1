import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A JVM started for tests and tools (the Pravega server, the schema registry) that never outlives
 * us: a small shell runs it in the background and stops it when its stdin closes — we stopped it,
 * or we died — and a process-exit hook SIGKILLs it if we exit without stopping it.
 */

// Runs the JVM in the background and stops it when stdin closes (parent stopped us, or died).
const WATCHDOG = `
"$@" </dev/null &
jpid=$!
echo "$jpid" > "$TRIBUTARY_PID_FILE"
trap 'kill -TERM "$jpid" 2>/dev/null' TERM INT HUP
while kill -0 "$jpid" 2>/dev/null; do
  read -t 1 -r _; rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -le 128 ]; then
    kill -TERM "$jpid" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$jpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$jpid" 2>/dev/null
    break
  fi
done
wait "$jpid"
`;

export interface WatchedJvm {
  /** undefined while it runs */
  exitCode(): number | null | undefined;
  /** the JVM's pid, once the watchdog wrote it */
  pid(): number | undefined;
  /** resident memory of the JVM, if known */
  residentMemoryBytes(): number | undefined;
  /** closes the watchdog's stdin (TERM, then KILL after 15 s); SIGKILL if not gone by `graceMs` */
  stop(graceMs: number): Promise<void>;
}

export function spawnWatchedJvm(options: {
  /** the watchdog's process name (`pravega-watchdog`) */
  readonly name: string;
  readonly java: string;
  readonly jvmArgs: readonly string[];
  /** stdout and stderr go here */
  readonly outFile: string;
  readonly workDir: string;
  readonly pidFile: string;
}): WatchedJvm {
  const out = openSync(options.outFile, 'w');
  const child: ChildProcess = spawn(
    'bash',
    ['-c', WATCHDOG, options.name, options.java, ...options.jvmArgs],
    {
      stdio: ['pipe', out, out],
      cwd: options.workDir,
      env: { ...process.env, TRIBUTARY_PID_FILE: options.pidFile },
    },
  );
  closeSync(out);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    });
  });
  const pid = (): number | undefined => {
    try {
      const text = readFileSync(options.pidFile, 'utf8').trim();
      return text ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  };
  // if this process goes away without stopping the JVM, take the JVM with it
  const killOnExit = () => {
    const p = pid();
    if (p !== undefined && exitCode === undefined) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);
  return {
    exitCode: () => exitCode,
    pid,
    residentMemoryBytes: () => rssOf(pid()),
    stop: async (graceMs) => {
      if (exitCode === undefined) {
        child.stdin?.end();
        const timer = sleep(graceMs, undefined, { ref: false }).then(() => 'timeout' as const);
        if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
          killOnExit();
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnExit);
    },
  };
}

/** The last lines of a log file ('' when there is none). */
export function readTail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
