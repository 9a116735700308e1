import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

/**
 * What a user outside this repository does: install the packed package into a project of their
 * own and run an exactly-once job from plain JavaScript, on the embedded store.
 */
const JOB = `
import {
  PravegaSink,
  PravegaSource,
  StreamEnvironment,
  acquireClient,
  jsonSerializer,
  observe,
  tailCut,
} from 'tributary';

const uri = process.argv[2];
const shared = await acquireClient(uri);
const client = shared.client;
await client.createScope('shop');
await client.createStream('shop/orders', { scalingPolicy: { type: 'fixed', minSegments: 2 } });
await client.createStream('shop/clean', { scalingPolicy: { type: 'fixed', minSegments: 2 } });
const writer = await client.createWriter('shop/orders', jsonSerializer());
for (let i = 0; i < 1000; i++) void writer.write({ id: i, customer: 'c' + (i % 7), total: i % 10 }, 'c' + (i % 7));
await writer.close();
const end = await tailCut(client.controller, client.segmentStore, { scope: 'shop', stream: 'orders' });

const env = StreamEnvironment.create({ pravega: uri, parallelism: 2, checkpoint: { intervalMs: 200, dir: 'checkpoints' } });
env
  .fromSource(PravegaSource.forStream('shop/orders', { end }).json(), { uid: 'orders' })
  .filter((o) => o.total > 0)
  .sinkTo(PravegaSink.forStream('shop/clean').json().exactlyOnce().routingKey((o) => o.customer), { uid: 'clean' });
const handle = env.execute('clean-orders');
let restored = 'none';
handle.events$.subscribe((e) => { if (e.type === 'restored') restored = e.message; });
// the status page's static files ship in the package
const observer = await observe(handle, { http: { port: 0 }, log: false, closeWhenJobEnds: false });
const page = await fetch(observer.urls[0]);
const pageServed = page.status === 200 && (await page.text()).includes('app.js');
const result = await handle;
await observer.close();

const batch = client.batchClient();
let count = 0;
for (const range of await batch.listSegmentRanges({ scope: 'shop', stream: 'clean' })) {
  for await (const events of batch.readRange(range, jsonSerializer())) count += events.length;
}
await shared.release();
console.log(restored);
console.log(JSON.stringify({ status: result.status, count, pageServed }));
`;

describe('the packed package', () => {
  let work: string | undefined;
  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('installs into a project outside the repo, runs an exactly-once job and serves its status page; run again, it resumes', async () => {
    work = await mkdtemp(join(tmpdir(), 'tributary-pack-'));
    // `npm pack` builds first (prepack)
    await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root });
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const project = join(work, 'my-job');
    await run('mkdir', ['-p', project]);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'my-job',
        private: true,
        type: 'module',
        dependencies: { tributary: `file:${join(work, tarball!)}` },
      }),
    );
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent'], {
      cwd: project,
    });
    await writeFile(join(project, 'job.mjs'), JOB);
    const first = await run('node', ['job.mjs', `embedded:${join(project, 'data')}`], {
      cwd: project,
    });
    expect(JSON.parse(first.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
      status: 'finished',
      count: 900,
      pageServed: true,
    });
    // the same script again writes 1 000 more orders; the job resumes after the first run's
    // input, so each valid order is in the output once
    const second = await run('node', ['job.mjs', `embedded:${join(project, 'data')}`], {
      cwd: project,
    });
    const lines = second.stdout.trim().split('\n');
    expect(lines.at(-2)).toMatch(
      /^job "clean-orders" resumes from checkpoint \d+ of .*positions: orders: shop\/orders /,
    );
    expect(JSON.parse(lines.at(-1) ?? '{}')).toEqual({
      status: 'finished',
      count: 1800,
      pageServed: true,
    });
    // the package's `tributary` bin works from the install, on the job's data
    const { stdout: listed } = await run(
      join(project, 'node_modules', '.bin', 'tributary'),
      ['--controller', `embedded:${join(project, 'data')}`, '--json', 'streams', 'list', 'shop'],
      { cwd: project },
    );
    expect(JSON.parse(listed)).toEqual([
      { stream: 'shop/clean', segments: 2, sealed: false },
      { stream: 'shop/orders', segments: 2, sealed: false },
    ]);
  }, 300_000);
});
