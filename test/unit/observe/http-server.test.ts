import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_LIMITS } from '../../../src/observe/http-server.js';
import { observe, type Observer } from '../../../src/observe/observer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { gatedSource } from '../../support/gated-source.js';
import { CollectSink } from '../helpers/collect-sink.js';

const TOKEN = 'test-token-0123456789';
const RECORDS = 20_000;

/** Sends raw bytes and returns the status line of the answer (or '' when the server just closed). */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 30 s to ${String(request).slice(0, 40)}`));
    }, 30_000);
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => {}); // a reset after the answer is fine
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer.split('\r\n')[0] ?? '');
    });
    socket.end(request);
  });
}

function quiet(): Writable {
  return new Writable({ write: (_c, _e, done) => done() });
}

describe('observer HTTP server', () => {
  let observer: Observer | undefined;
  afterEach(async () => {
    await observer?.close();
    observer = undefined;
  });

  it('binds 127.0.0.1, answers bad requests with 4xx, and the job runs on undisturbed', async () => {
    let probed = false;
    const sink = new CollectSink<number>();
    const env = StreamEnvironment.create({ parallelism: 2, checkpoint: { intervalMs: 50 } });
    env
      .fromSource(
        // half the input waits until the probing is over: the job is surely running meanwhile
        gatedSource(SequenceSource.bounded(0, RECORDS, { batchSize: 100 }), [
          { afterRecords: RECORDS / 2, until: () => probed, name: 'probes done' },
        ]),
        { name: 'numbers', uid: 'numbers' },
      )
      .map((n) => n + 1, { name: 'inc', uid: 'inc' })
      .sinkTo(sink, { name: 'collect', uid: 'collect' });
    const handle = env.execute('http-probe');
    observer = await observe(handle, {
      http: { port: 0, token: TOKEN },
      log: { destination: quiet() },
      closeWhenJobEnds: false,
    });
    const url = observer.urls[0] as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const port = Number(new URL(url).port);
    const auth = { authorization: `Bearer ${TOKEN}` };

    // the page itself needs no token (it holds no data); the data does
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="app.js"');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await fetch(`${url}app.js`)).status).toBe(200);
    expect((await fetch(`${url}metrics`)).status).toBe(401);
    expect(
      (await fetch(`${url}metrics`, { headers: { authorization: 'Bearer wrong-token-xx' } }))
        .status,
    ).toBe(401);
    expect((await fetch(`${url}api/status?token=nope`)).status).toBe(401);
    const metrics = await fetch(`${url}metrics`, { headers: auth });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('tributary_records_out_total');
    expect((await fetch(`${url}api/status?token=${TOKEN}`)).status).toBe(200);

    // read-only, and bad requests get 4xx
    expect(
      (await fetch(`${url}metrics`, { method: 'POST', headers: auth, body: 'x' })).status,
    ).toBe(405);
    expect((await fetch(`${url}api/status`, { method: 'DELETE', headers: auth })).status).toBe(405);
    expect((await fetch(`${url}nothing-here`)).status).toBe(404);
    expect(
      (await fetch(`${url}metrics?${'a'.repeat(HTTP_LIMITS.maxUrlLength)}`, { headers: auth }))
        .status,
    ).toBe(414);
    expect(
      await raw(port, 'GET /metrics HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello'),
    ).toMatch(/^HTTP\/1\.1 413/);
    expect(await raw(port, 'THIS IS NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(port, Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]))).toMatch(
      /^HTTP\/1\.1 400/,
    );
    expect(
      await raw(
        port,
        `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(HTTP_LIMITS.maxHeaderBytes * 2)}\r\n\r\n`,
      ),
    ).toMatch(/^HTTP\/1\.1 431/);
    expect(await raw(port, 'GET / HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 400/,
    );

    // the event stream: first status at once, and no more streams than the limit
    const controller = new AbortController();
    const streams: Response[] = [];
    for (let i = 0; i < HTTP_LIMITS.maxEventStreams; i++) {
      const res = await fetch(`${url}api/events?token=${TOKEN}`, { signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      streams.push(res);
    }
    const reader = streams[0]?.body?.getReader();
    const first = await reader?.read();
    expect(Buffer.from(first?.value ?? new Uint8Array()).toString()).toMatch(
      /retry: 2000|event: status/,
    );
    expect((await fetch(`${url}api/events?token=${TOKEN}`)).status).toBe(503);
    controller.abort();

    probed = true;
    const result = await handle;
    expect(result.status).toBe('finished');
    expect(sink.records).toHaveLength(RECORDS);
    expect(new Set(sink.records).size).toBe(RECORDS);
    const status = observer.status();
    expect(status.job.status).toBe('finished');
    expect(status.operators.find((o) => o.uid === 'numbers')?.recordsOut).toBe(RECORDS);
  });

  it('rejects bad options naming the key', async () => {
    const env = StreamEnvironment.create();
    env.fromSource(SequenceSource.bounded(0, 10)).sinkTo(new CollectSink<number>());
    const handle = env.execute('bad-options');
    await expect(observe(handle, { http: { port: 70_000 } })).rejects.toThrow(/http\.port/);
    await expect(observe(handle, { http: { port: 0, token: 'short' } })).rejects.toThrow(
      /http\.token/,
    );
    await expect(observe(handle, { lagIntervalMs: 5 })).rejects.toThrow(/lagIntervalMs/);
    await handle;
  });
});
