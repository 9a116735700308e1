import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend } from '../../support/backends.js';
import { randomScope } from '../../support/endpoints.js';
import { cli, jsonLines, RunningCli, type CliResult } from './cli-process.js';

/**
 * Every `tributary` subcommand end to end in a child process, on the real Pravega server and on
 * the embedded store (the CLI process owns the embedded directory while it runs, so the test
 * checks results through the CLI too).
 */

/** many child processes per test: generous on a loaded machine */
const TEST_TIMEOUT_MS = 400_000;

const COPY_JOB = resolve(import.meta.dirname, 'fixtures/copy-job.ts');

function ok(result: CliResult): CliResult {
  if (result.code !== 0) {
    throw new Error(
      `exit code ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

/** One error line on stderr, no stack. */
function expectOneErrorLine(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

function items(keys: number, perKey: number): string {
  const lines: string[] = [];
  for (let seq = 0; seq < perKey; seq++) {
    for (let k = 0; k < keys; k++) lines.push(JSON.stringify({ key: `k${k}`, seq }));
  }
  return `${lines.join('\n')}\n`;
}

/** Every key's sequence numbers, in the order read. */
function sequencesByKey(values: readonly { key: string; seq: number }[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const v of values) {
    const list = byKey.get(v.key) ?? [];
    list.push(v.seq);
    byKey.set(v.key, list);
  }
  return byKey;
}

function tailed(result: CliResult): { key: string; seq: number }[] {
  return jsonLines(result.stdout).map(
    (e) => JSON.parse(e['text'] as string) as { key: string; seq: number },
  );
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))(
  'tributary CLI on %s',
  (_name, make) => {
    let backend: Backend;
    let cwd: string;
    let scope: string;
    let tributary: (args: readonly string[], input?: string) => Promise<CliResult>;

    beforeEach(async () => {
      backend = make();
      cwd = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
      scope = randomScope('cli');
      tributary = (args, input) =>
        cli(['--controller', backend.uri(), ...args], {
          cwd,
          ...(input !== undefined ? { input } : {}),
        });
    });

    afterEach(async () => {
      await backend.cleanup();
      await rm(cwd, { recursive: true, force: true });
    });

    it(
      'creates, lists, inspects, seals and deletes scopes and streams',
      async () => {
        ok(await tributary(['scopes', 'create', scope]));
        const created = jsonLines(
          ok(await tributary(['--json', 'streams', 'create', `${scope}/a`, '--segments', '3']))
            .stdout,
        );
        expect(created[0]).toMatchObject({ stream: `${scope}/a`, created: true });
        ok(
          await tributary([
            'streams',
            'create',
            `${scope}/b`,
            '--event-rate',
            '100',
            '--segments',
            '2',
          ]),
        );

        const listed = jsonLines(
          ok(await tributary(['streams', 'list', scope, '--json'])).stdout,
        )[0];
        expect(listed).toEqual([
          { stream: `${scope}/a`, segments: 3, sealed: false },
          { stream: `${scope}/b`, segments: 2, sealed: false },
        ]);
        const info = jsonLines(
          ok(await tributary(['--json', 'streams', 'info', `${scope}/b`])).stdout,
        )[0]!;
        expect(info).toMatchObject({
          stream: `${scope}/b`,
          sealed: false,
          bytes: '0',
          config: {
            scalingPolicy: { type: 'byEventRate', targetRate: 100, scaleFactor: 2, minSegments: 2 },
          },
        });
        expect(info['segments']).toHaveLength(2);

        expectOneErrorLine(
          await tributary(['streams', 'delete', `${scope}/a`]),
          1,
          /is not sealed: seal it first .* or pass --seal \[STREAM_NOT_SEALED\]$/,
        );
        ok(await tributary(['streams', 'seal', `${scope}/a`]));
        ok(await tributary(['streams', 'delete', `${scope}/a`]));
        ok(await tributary(['streams', 'delete', `${scope}/b`, '--seal']));
        ok(await tributary(['scopes', 'delete', scope]));
        const after = jsonLines<{ scope: string }[]>(
          ok(await tributary(['scopes', 'list', '--json'])).stdout,
        )[0]!;
        expect(after.map((s) => s.scope)).not.toContain(scope);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'writes NDJSON from stdin, tails it in order per key, and reads from a cut',
      async () => {
        ok(await tributary(['scopes', 'create', scope]));
        ok(await tributary(['streams', 'create', `${scope}/in`, '--segments', '3']));
        const written = jsonLines(
          ok(
            await tributary(['write', `${scope}/in`, '--key-field', 'key', '--json'], items(6, 50)),
          ).stdout,
        );
        expect(written[0]).toMatchObject({ events: 300 });

        const all = tailed(ok(await tributary(['tail', `${scope}/in`, '--json'])));
        expect(all).toHaveLength(300);
        for (const seqs of sequencesByKey(all).values())
          expect(seqs).toEqual([...Array(50).keys()]);

        const cut = ok(await tributary(['cut', `${scope}/in`])).stdout.trim();
        ok(
          await tributary(
            ['write', `${scope}/in`, '--key-field', 'key'],
            items(2, 10).replaceAll('"seq":', '"seq":1000,"n":'),
          ),
        );
        const after = tailed(ok(await tributary(['tail', `${scope}/in`, '--from', cut, '--json'])));
        expect(after).toHaveLength(20);
        expect(after.every((v) => v.seq === 1000)).toBe(true);

        const head = ok(await tributary(['cut', `${scope}/in`, '--head', '--json']));
        const headCut = jsonLines(head.stdout)[0]!['cut'] as string;
        const limited = ok(await tributary(['tail', `${scope}/in`, '--from', headCut, '-n', '5']));
        expect(limited.stdout.trim().split('\n')).toHaveLength(5);

        expectOneErrorLine(
          await tributary(['write', `${scope}/in`], '{"ok":1}\nnot json\n'),
          1,
          /^tributary: stdin line 2 is not JSON .*the 1 event\(s\) before it were written/,
        );
        expectOneErrorLine(
          await tributary(
            ['write', `${scope}/in`, '--format', 'lines', '--key-field', 'key'],
            'x\n',
          ),
          2,
          /--key-field needs --format ndjson/,
        );
        expectOneErrorLine(
          await tributary(['tail', `${scope}/in`, '--from', 'nowhere']),
          2,
          /--from: expected head, tail or a stream cut/,
        );
        expectOneErrorLine(await tributary(['tail', `${scope}/nope`]), 1, /nope/);

        // --follow prints what is there, then waits (on the real server, new events arrive too)
        const follow = new RunningCli(
          ['--controller', backend.uri(), 'tail', `${scope}/in`, '--follow', '--from', cut],
          cwd,
        );
        await follow.waitForLine((l) => l.includes('"seq":1000'), 'the events after the cut');
        if (backend.name === 'real') {
          ok(
            await tributary(
              ['write', `${scope}/in`, '--format', 'lines', '--key', 'late'],
              'a late line\n',
            ),
          );
          await follow.waitForLine((l) => l === 'a late line', 'the event written while following');
        }
        follow.signal('SIGINT');
        const ended = await follow.exit();
        expect(ended.code).toBe(0);
        expect(ended.stderr).toBe('');
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'runs a job module, stops it on SIGINT, lists its checkpoints, resumes it exactly once, restarts it from scratch',
      async () => {
        const input = `${scope}/in`;
        const output = `${scope}/out`;
        const checkpoints = join(cwd, 'checkpoints');
        ok(await tributary(['scopes', 'create', scope]));
        ok(await tributary(['streams', 'create', input, '--segments', '2']));
        ok(await tributary(['write', input, '--key-field', 'key'], items(4, 50)));
        const runArgs = [
          '--controller',
          backend.uri(),
          '--json',
          'run',
          COPY_JOB,
          '--checkpoint-dir',
          checkpoints,
          '--checkpoint-interval',
          '300',
          '--',
          input,
          output,
        ];

        // first run: wait until the sink has taken all 200 items and a checkpoint was taken after that
        const first = new RunningCli(
          [...runArgs.slice(0, -3), '--metrics-port', '0', ...runArgs.slice(-3)],
          cwd,
        );
        const startLine = JSON.parse(
          first.lines[
            await first.waitForLine((l) => l.includes('"type":"start"'), 'the start line')
          ]!,
        ) as Record<string, unknown>;
        expect(startLine).toMatchObject({
          job: 'copy',
          mode: 'resume',
          checkpointDir: checkpoints,
        });
        expect(startLine['resumeFrom']).toBeUndefined();
        const allIn = await first.waitForLine((l) => {
          if (!l.includes('"type":"metrics"')) return false;
          const sink = (
            JSON.parse(l) as { operators: { name: string; recordsIn: number }[] }
          ).operators.find((o) => o.name === 'copy-out');
          return (sink?.recordsIn ?? 0) >= 200;
        }, 'all 200 items at the sink');
        const triggered = await first.waitForLine(
          (l) => l.includes('"type":"checkpoint-triggered"'),
          'a checkpoint after all items',
          allIn,
        );
        const id = (JSON.parse(first.lines[triggered]!) as { checkpointId: number }).checkpointId;
        await first.waitForLine(
          (l) => l.includes('"type":"checkpoint-completed"') && l.includes(`"checkpointId":${id},`),
          `checkpoint ${id} completed`,
          triggered,
        );
        // --metrics-port serves the job's Prometheus metrics while it runs
        const endpoint = JSON.parse(
          first.lines[
            await first.waitForLine(
              (l) => l.includes('"type":"metrics-endpoint"'),
              'the metrics URL',
            )
          ]!,
        ) as { url: string };
        const scraped = await (await fetch(endpoint.url)).text();
        expect(scraped).toMatch(/^tributary_checkpoints_completed_total\{job_name="copy"\} [1-9]/m);
        first.signal('SIGINT');
        const firstEnd = ok(await first.exit());
        const result = jsonLines(firstEnd.stdout).find((e) => e['type'] === 'result');
        expect(result).toMatchObject({ job: 'copy', status: 'stopped' });
        expect(result!['lastCheckpointId']).toBeGreaterThanOrEqual(id);

        // its checkpoints
        const listed = jsonLines(
          ok(await tributary(['checkpoints', 'list', checkpoints, '--json'])).stdout,
        )[0] as unknown as {
          checkpointId: number;
          jobName: string;
          state: string;
        }[];
        expect(listed.length).toBeGreaterThan(0);
        expect(listed.every((c) => c.jobName === 'copy' && c.state === 'intact')).toBe(true);
        const shown = jsonLines(
          ok(await tributary(['checkpoints', 'show', checkpoints, '--json'])).stdout,
        )[0]!;
        expect(shown['checkpointId']).toBe(result!['lastCheckpointId']);
        expect((shown['operators'] as { uid: string }[]).map((o) => o.uid)).toEqual(
          expect.arrayContaining(['copy-in', 'copy-out']),
        );

        // second run resumes from the last checkpoint (and commits what it had pending)
        const second = new RunningCli(runArgs, cwd);
        const resumed = JSON.parse(
          second.lines[
            await second.waitForLine((l) => l.includes('"type":"start"'), 'the start line')
          ]!,
        ) as Record<string, unknown>;
        expect(resumed['resumeFrom']).toBe(result!['lastCheckpointId']);
        await second.waitForLine(
          (l) => l.includes('"type":"checkpoint-completed"'),
          'a checkpoint of the resumed job',
        );
        second.signal('SIGINT');
        ok(await second.exit());

        const copied = tailed(ok(await tributary(['tail', output, '--json'])));
        expect(copied).toHaveLength(200);
        for (const seqs of sequencesByKey(copied).values())
          expect(seqs).toEqual([...Array(50).keys()]);

        // --from-scratch ignores the checkpoints: the source reads the 200 items again (resumed,
        // it would have nothing new to read)
        const third = new RunningCli(
          [...runArgs.slice(0, 5), '--from-scratch', '--allow-duplicates', ...runArgs.slice(5)],
          cwd,
        );
        const scratch = JSON.parse(
          third.lines[
            await third.waitForLine((l) => l.includes('"type":"start"'), 'the start line')
          ]!,
        ) as Record<string, unknown>;
        expect(scratch).toMatchObject({ mode: 'scratch' });
        expect(scratch['resumeFrom']).toBeUndefined();
        await third.waitForLine((l) => {
          if (!l.includes('"type":"metrics"')) return false;
          const source = (
            JSON.parse(l) as { operators: { name: string; recordsOut: number }[] }
          ).operators.find((o) => o.name === 'copy-in');
          return (source?.recordsOut ?? 0) >= 200;
        }, 'the source re-reading all 200 items');
        third.signal('SIGINT');
        ok(await third.exit());
      },
      TEST_TIMEOUT_MS,
    );
  },
);
