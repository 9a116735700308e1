import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TributaryError } from '../errors.js';

/**
 * TypeScript job modules (and the `server` command, which starts the launcher in tools/) need a
 * TypeScript loader. Running from source (`npx tsx src/cli/main.ts`) one is already there; the
 * built CLI (dist/cli/main.js) runs itself again as `node --import tsx dist/cli/main.js ...`.
 */

const LOADED_MARK = 'TRIBUTARY_CLI_TS_LOADER';

export function canImportTypeScript(): boolean {
  return import.meta.url.endsWith('.ts') || process.env[LOADED_MARK] === '1';
}

/** The tsx loader, found from `fromDir` (the job's project) or from this package. */
export function findTsx(fromDir: string): string | undefined {
  for (const base of [join(fromDir, 'noop.js'), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(base).resolve('tsx');
    } catch {
      // not installed there
    }
  }
  return undefined;
}

/**
 * Runs this CLI again with the same arguments under tsx, in its own process group; Ctrl-C and
 * SIGTERM reach it through this process (once), and its exit code becomes this one's.
 */
export async function rerunUnderTsx(fromDir: string, why: string): Promise<number> {
  const tsx = findTsx(fromDir);
  if (tsx === undefined) {
    throw new TributaryError(
      'ENVIRONMENT',
      `${why} needs tsx, which is not installed: npm install --save-dev tsx (or build the job to .js)`,
    );
  }
  const main = process.argv[1];
  if (main === undefined) throw new TributaryError('INTERNAL', 'cannot find the CLI script');
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--import', pathToFileURL(tsx).href, main, ...process.argv.slice(2)],
    { stdio: 'inherit', detached: true, env: { ...process.env, [LOADED_MARK]: '1' } },
  );
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(signal);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
    });
  } finally {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  }
}
