import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Runs the `tributary` command from source in a child process, as a user would:
 * `node --import tsx src/cli/main.ts ...`.
 */

const root = resolve(import.meta.dirname, '../../..');
const main = resolve(root, 'src/cli/main.ts');
const tsx = pathToFileURL(createRequire(resolve(root, 'package.json')).resolve('tsx')).href;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every wait for a command has this deadline. */
const COMMAND_DEADLINE_MS = 120_000;

function start(args: readonly string[], cwd: string): ChildProcess {
  const env = { ...process.env };
  delete env['TRIBUTARY_CONTROLLER'];
  return spawn(process.execPath, ['--import', tsx, main, ...args], {
    cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs a command to its end (stdin: `input`, or closed). */
export function cli(
  args: readonly string[],
  options: { cwd: string; input?: string },
): Promise<CliResult> {
  const child = start(args, options.cwd);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin?.end(options.input ?? '');
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `tributary ${args.join(' ')} did not end within ${COMMAND_DEADLINE_MS} ms\n${stderr}`,
        ),
      );
    }, COMMAND_DEADLINE_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A long-running command (run, tail --follow, server) whose stdout lines are watched. */
export class RunningCli {
  private readonly child: ChildProcess;
  private buffered = '';
  readonly lines: string[] = [];
  stderr = '';
  private readonly exited: Promise<CliResult>;
  private waiters: (() => void)[] = [];

  constructor(args: readonly string[], cwd: string) {
    this.child = start(args, cwd);
    this.child.stdin?.end();
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.buffered += d;
      const parts = this.buffered.split('\n');
      this.buffered = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolvePromise, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code) => {
        if (this.buffered !== '') this.lines.push(this.buffered);
        for (const wake of this.waiters.splice(0)) wake();
        resolvePromise({ code, stdout: this.lines.join('\n'), stderr: this.stderr });
      });
    });
  }

  /** Waits until `predicate` holds for some stdout line (from `from` on); returns its index. */
  async waitForLine(
    predicate: (line: string) => boolean,
    what: string,
    from = 0,
    deadlineMs = COMMAND_DEADLINE_MS,
  ): Promise<number> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const index = this.lines.findIndex((l, i) => i >= from && predicate(l));
      if (index >= 0) return index;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `the command ended before ${what}\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no ${what} within ${deadlineMs} ms\nstdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Waits for the end (kills it after the deadline). */
  async exit(deadlineMs = COMMAND_DEADLINE_MS): Promise<CliResult> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), deadlineMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The JSON objects among some output lines. */
export function jsonLines<T = Record<string, unknown>>(text: string | readonly string[]): T[] {
  const lines = typeof text === 'string' ? text.split('\n') : text;
  return lines.filter((l) => l.startsWith('{') || l.startsWith('[')).map((l) => JSON.parse(l) as T);
}
