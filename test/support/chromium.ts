import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (Playwright's own browser download cannot work here); CI installs it. */
export function chromiumPath(): string {
  const fromEnv = process.env.TRIBUTARY_CHROMIUM;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // next
    }
  }
  throw new Error(
    'no chromium found: install it (apt-get install chromium, as .ci/run does) or set TRIBUTARY_CHROMIUM',
  );
}

/** A headless chromium for the status page tests. */
export function launchChromium(timeoutMs: number): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: timeoutMs,
  });
}
