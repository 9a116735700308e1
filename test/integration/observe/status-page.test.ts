import { Writable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observe } from '../../../src/observe/observer.js';
import { StreamEnvironment } from '../../../src/runtime/stream-environment.js';
import { WatermarkStrategy } from '../../../src/runtime/watermark-strategy.js';
import { SequenceSource } from '../../../src/source/sequence/sequence-source.js';
import { launchChromium } from '../../support/chromium.js';
import { gatedSource } from '../../support/gated-source.js';
import { CollectSink } from '../../unit/helpers/collect-sink.js';

const WAIT_MS = 90_000;
const TOKEN = 'page-token-0123456789';

async function readCount(page: Page, selector: string): Promise<number> {
  const text = (await page.locator(selector).textContent()) ?? '';
  return Number(text.replace(/[^0-9]/g, '') || 'NaN');
}

describe('status page in a headless browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium(WAIT_MS);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the job graph, counters that move, checkpoints and the end of the job', async () => {
    let sawFirst = false;
    let sawMore = false;
    const total = 30_000;
    const env = StreamEnvironment.create({ parallelism: 2, checkpoint: { intervalMs: 100 } });
    env
      .fromSource(
        // the source waits at each point until the page has shown what the test looks for
        gatedSource(SequenceSource.bounded(0, total, { batchSize: 100 }), [
          { afterRecords: 2_000, until: () => sawFirst, name: 'page shows the first counts' },
          { afterRecords: 10_000, until: () => sawMore, name: 'page shows the counters moved' },
        ]),
        {
          name: 'numbers',
          uid: 'numbers',
          // event time = the number: the tasks table shows each task's watermark
          watermarkStrategy:
            WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n),
        },
      )
      .keyBy((n) => n % 10)
      .process<number>((n, _ctx, out) => out.collect(n), { name: 'by-key', uid: 'by-key' })
      .sinkTo(new CollectSink<number>(), { name: 'collect', uid: 'collect' });
    const handle = env.execute('page-probe');
    const observer = await observe(handle, {
      http: { port: 0, token: TOKEN },
      log: { destination: new Writable({ write: (_c, _e, done) => done() }) },
      closeWhenJobEnds: false,
    });
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    try {
      await page.goto(`${observer.urls[0]}?token=${TOKEN}`, { timeout: WAIT_MS });
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: WAIT_MS })
        .toBe('running');
      await expect
        .poll(() => page.locator('#live').textContent(), { timeout: WAIT_MS })
        .toContain('live');
      expect(await page.locator('#job-name').textContent()).toBe('page-probe');
      // the graph: source chain and the keyed vertex, with their parallelism
      await expect.poll(() => page.locator('#graph .vertex').count(), { timeout: WAIT_MS }).toBe(2);
      expect(await page.locator('#graph').textContent()).toMatch(
        /numbers.*parallelism 2.*hash.*by-key → collect.*parallelism 2/s,
      );

      await expect
        .poll(() => readCount(page, '#records-read'), { timeout: WAIT_MS })
        .toBeGreaterThanOrEqual(2_000);
      const first = await readCount(page, '#records-read');
      sawFirst = true;
      await expect
        .poll(() => readCount(page, '#records-read'), { timeout: WAIT_MS })
        .toBeGreaterThan(first);
      // the keyed tasks' event time, from the watermarks their inputs sent
      const byKey = page.locator('#tasks tbody tr', { hasText: 'by-key' });
      await expect.poll(() => byKey.count(), { timeout: WAIT_MS }).toBe(2);
      await expect
        .poll(
          async () =>
            Number((await byKey.first().locator('td.watermark').textContent())?.replace(/\D/g, '')),
          {
            timeout: WAIT_MS,
          },
        )
        .toBeGreaterThan(0);
      sawMore = true;

      // a completed checkpoint appears in the table, with its duration and size
      const completed = page.locator('#checkpoints tbody tr', { hasText: 'completed' });
      await expect.poll(() => completed.count(), { timeout: WAIT_MS }).toBeGreaterThan(0);
      expect(await completed.first().textContent()).toMatch(
        /\d+.*completed.*\d+ ms.*\d+(\.\d)? (B|KiB)/s,
      );
      expect(await readCount(page, '#checkpoint-count')).toBeGreaterThan(0);

      await handle;
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: WAIT_MS })
        .toBe('finished');
      await expect.poll(() => readCount(page, '#records-read'), { timeout: WAIT_MS }).toBe(total);
      const operatorRows = await page.locator('#operators tbody tr').allTextContents();
      expect(operatorRows.join('\n')).toMatch(/collect/);
      // readable on a phone: nothing wider than the screen but the scrolling tables
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect(overflow).toBeLessThanOrEqual(390);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await observer.close();
      if (!sawMore) {
        sawFirst = sawMore = true;
        await handle.cancel().catch(() => undefined);
      }
    }
  });
});
