import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Every container PravegaContainer starts carries labels naming the test run and the process that
 * owns it, so a run's teardown removes all of its containers, and a later run removes the
 * containers of runs that died without a teardown (killed, crashed), found by their owner process
 * no longer existing.
 *
 * A test runner that starts containers from several processes sets TRIBUTARY_TEST_RUN_ID and
 * TRIBUTARY_TEST_RUN_OWNER in its main process before the workers start (see
 * {@link claimTestRun}); the workers' containers then belong to the main process.
 */

export const LABEL_MANAGED = 'tributary.testing';
export const LABEL_RUN = 'tributary.testing.run';
/** `<host>:<pid>:<process start time>` of the owning process */
export const LABEL_OWNER = 'tributary.testing.owner';

const RUN_ENV = 'TRIBUTARY_TEST_RUN_ID';
const OWNER_ENV = 'TRIBUTARY_TEST_RUN_OWNER';

/** The kernel's start time of a process (Linux), so a reused pid is not mistaken for its owner. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may hold blanks) start at ") "
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerOf(pid: number): string {
  return `${hostname()}:${pid}:${processStartTime(pid) ?? '-'}`;
}

let localRun: string | undefined;

/** The labels of a container started now by this process. */
export function containerLabels(): Record<string, string> {
  const run = process.env[RUN_ENV] ?? (localRun ??= randomBytes(8).toString('hex'));
  const owner = process.env[OWNER_ENV] ?? ownerOf(process.pid);
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: run, [LABEL_OWNER]: owner };
}

/** Makes this process the owner of a test run whose child processes inherit the environment. */
export function claimTestRun(): string {
  const run = randomBytes(8).toString('hex');
  process.env[RUN_ENV] = run;
  process.env[OWNER_ENV] = ownerOf(process.pid);
  return run;
}

/**
 * Whether the process named by an owner label is certainly gone: it ran on this host and its pid
 * is free or now belongs to a process started at another time. Owners on other hosts are never
 * judged dead.
 */
export function ownerIsGone(owner: string): boolean {
  const [host, pidText, started] = owner.split(':');
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const now = processStartTime(pid);
  return started !== '-' && now !== undefined && now !== started;
}
