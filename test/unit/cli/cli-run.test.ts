import { afterEach, describe, expect, it, vi } from 'vitest';
import { TributaryError } from '../../../src/errors.js';
import { effectiveJobOptions, startMode } from '../../../src/cli/commands/run.js';
import { humanLine, jsonOf } from '../../../src/cli/job-reporter.js';
import { validateJobModule } from '../../../src/cli/job-module.js';
import { checkObserveOptions } from '../../../src/cli/observe-adapter.js';
import { runCli } from '../../../src/cli/run-cli.js';
import { isUsageError } from '../../../src/cli/usage-error.js';

describe('the job module contract', () => {
  it('accepts a default-exported builder with optional name and options', () => {
    const build = () => undefined;
    const job = validateJobModule(
      { default: build, name: 'n', options: { parallelism: 2 } },
      'job.ts',
    );
    expect(job.build).toBe(build);
    expect(job.name).toBe('n');
    const ctx = { name: 'n', pravega: { controllerUri: 'tcp://x:1' }, args: ['a'] };
    expect(job.options(ctx)).toEqual({ parallelism: 2 });
    const dynamic = validateJobModule(
      { default: build, options: (c: typeof ctx) => ({ parallelism: c.args.length }) },
      'job.ts',
    );
    expect(dynamic.options(ctx)).toEqual({ parallelism: 1 });
  });

  it('says what is wrong with a module that does not follow it', () => {
    expect(() => validateJobModule({}, 'job.ts')).toThrow(
      'job job.ts: the default export must be a function (env, ctx) => void that builds the pipeline, found nothing',
    );
    expect(() => validateJobModule({ default: () => undefined, name: 3 }, 'job.ts')).toThrow(
      /export 'name' must be a non-empty string, found a number/,
    );
    expect(() => validateJobModule({ default: () => undefined, options: [] }, 'job.ts')).toThrow(
      /export 'options' must be job options .*found an array/,
    );
  });
});

describe('run options', () => {
  it('fills in the connection and the checkpoint directory; the CLI connection wins when given', () => {
    const moduleOptions = {
      parallelism: 2,
      pravega: 'embedded:/mine',
      checkpoint: { intervalMs: 100, retained: 5 },
    };
    expect(
      effectiveJobOptions(
        moduleOptions,
        { controllerUri: 'tcp://cli:9090' },
        true,
        '/ck',
        undefined,
      ),
    ).toEqual({
      parallelism: 2,
      pravega: { controllerUri: 'tcp://cli:9090' },
      checkpoint: { intervalMs: 100, retained: 5, dir: '/ck' },
    });
    expect(
      effectiveJobOptions(moduleOptions, { controllerUri: 'embedded:/default' }, false, '/ck', 50),
    ).toEqual({
      parallelism: 2,
      pravega: 'embedded:/mine',
      checkpoint: { intervalMs: 50, retained: 5, dir: '/ck' },
    });
    expect(effectiveJobOptions({}, 'embedded:/d', false, '/ck', undefined)).toEqual({
      pravega: 'embedded:/d',
      checkpoint: { intervalMs: 5000, dir: '/ck' },
    });
    // a worker without a checkpoint directory (its keyed state goes to the state stream)
    expect(
      effectiveJobOptions({ checkpoint: { intervalMs: 100 } }, 'tcp://c:1', false, undefined, 7),
    ).toEqual({ pravega: 'tcp://c:1', checkpoint: { intervalMs: 7 } });
  });

  it('resumes by default; --resume and --from-scratch exclude each other', () => {
    expect(startMode({})).toBe('resume');
    expect(startMode({ resume: true })).toBe('resume');
    expect(startMode({ fromScratch: true })).toBe('scratch');
    expect(() => startMode({ resume: true, fromScratch: true })).toThrow(
      '--resume and --from-scratch exclude each other',
    );
  });

  it('checks the observe options before the job starts', () => {
    expect(() => checkObserveOptions({})).not.toThrow();
    expect(() => checkObserveOptions({ metricsPort: 9100, logLevel: 'debug' })).not.toThrow();
    let caught: unknown;
    try {
      checkObserveOptions({ logLevel: 'loud' });
    } catch (err) {
      caught = err;
    }
    expect(isUsageError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/^--log-level must be one of fatal, error/);
  });

  it('prints job events as human lines and JSON', () => {
    const error = new TributaryError('CONNECTION_FAILED', 'gone');
    expect(
      humanLine(
        { type: 'restart', attempt: 1, delayMs: 200, error, fromCheckpoint: 4, time: 0 },
        () => true,
      ),
    ).toBe('restart 1 in 200 ms from checkpoint 4 after: gone');
    expect(
      humanLine(
        {
          type: 'checkpoint-completed',
          checkpointId: 3,
          final: false,
          durationMs: 12.7,
          stateBytes: 2048,
          path: undefined,
          time: 0,
        },
        () => true,
      ),
    ).toBe('checkpoint 3 completed in 13 ms, 2.0 KiB');
    expect(
      humanLine({ type: 'metrics', operators: [], tasks: [], time: 0 }, () => false),
    ).toBeUndefined();
    expect(jsonOf({ type: 'status', status: 'failed', attempt: 0, time: 1, error })).toEqual({
      type: 'status',
      status: 'failed',
      attempt: 0,
      time: 1,
      error: { code: 'CONNECTION_FAILED', message: 'gone' },
    });
  });
});

describe('runCli exit codes and error lines', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function run(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
    let stderr = '';
    let stdout = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const code = await runCli(args);
    vi.restoreAllMocks();
    return { code, stderr, stdout };
  }

  it('exits 0 for --help and --version', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: tributary/);
    expect(help.stdout).toMatch(
      /TRIBUTARY_CONTROLLER, else the embedded store in\s+\.\/\.tributary-data/,
    );
    expect((await run(['--version'])).code).toBe(0);
  });

  it('exits 2 with one line for usage errors', async () => {
    for (const [args, pattern] of [
      [['nosuch'], /^tributary: unknown command 'nosuch'/],
      [['streams', 'create'], /^tributary: missing required argument 'scope\/stream'/],
      [
        ['streams', 'create', 'noslash'],
        /^tributary: <scope\/stream>: expected scope\/stream, got "noslash"/,
      ],
      [
        ['tail', 's/x', '--limit', '0'],
        /^tributary: --limit: expected a whole number ≥ 1, got "0"/,
      ],
      [['run', 'job.ts', '--log-level', 'loud'], /^tributary: --log-level must be one of/],
      [
        ['run', 'job.ts', '--resume', '--from-scratch'],
        /--resume and --from-scratch exclude each other/,
      ],
      [['run', 'no-such-job.ts'], /^tributary: <job>: no-such-job.ts does not exist/],
      [['run', 'job.py'], /^tributary: <job>: job.py is not a .ts or .js module/],
      [
        ['checkpoints', 'list', '/no/such/dir'],
        /^tributary: <dir>: \/no\/such\/dir does not exist/,
      ],
    ] as const) {
      const result = await run([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr, args.join(' ')).toMatch(pattern);
    }
  });

  it('prints errors as JSON with --json', async () => {
    const result = await run(['--json', 'streams', 'create', 'bad']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: 'ILLEGAL_ARGUMENT',
        message: '<scope/stream>: expected scope/stream, got "bad"',
      },
    });
  });
});
