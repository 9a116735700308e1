import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { TributaryError, errorMessage } from '../../errors.js';
import { intOption } from '../args.js';
import { contextOf } from '../context.js';
import { canImportTypeScript, rerunUnderTsx } from '../ts-loader.js';

/**
 * `tributary server`: a real Pravega server (pravega-standalone from Maven Central, a local JVM,
 * data in memory) in the foreground until Ctrl-C, for commands and jobs to use with
 * `--controller <uri>`. The embedded store needs no server — every command opens it in-process,
 * one process per directory at a time — so this is the real one. It uses the launcher in the
 * repository's tools/pravega-server (Java 11+ and Maven), so it works from a checkout, not from
 * an installed package.
 */

interface LaunchedServer {
  readonly controllerUri: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly caCertFile?: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

interface Launcher {
  startRealPravega(options: {
    auth: boolean;
    tls: boolean;
    heapMb: number;
    runtime: 'jvm';
    log: (line: string) => void;
  }): Promise<LaunchedServer>;
}

/** src/cli/commands → repo root (the same from dist/cli/commands). */
const LAUNCHER = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'tools',
  'pravega-server',
  'index.ts',
);

export function registerServer(program: Command): void {
  program
    .command('server')
    .description(
      'start a real Pravega server (local JVM, in-memory) until Ctrl-C; needs a repository checkout, Java 11+ and Maven. The embedded store needs no server.',
    )
    .option('--auth', 'with auth (user admin / 1111_aaaa)', false)
    .option('--tls', 'with TLS (prints the CA to trust)', false)
    .option('--heap <MiB>', 'JVM heap', intOption('--heap', 256, 65_536), 1024)
    .action(async (opts: { auth: boolean; tls: boolean; heap: number }, command: Command) => {
      const { out } = contextOf(command);
      if (!existsSync(LAUNCHER)) {
        throw new TributaryError(
          'ENVIRONMENT',
          'tributary server starts Pravega with the launcher of a tributary repository checkout (tools/pravega-server), not found here; run a Pravega server yourself, or use the embedded store, which needs none (--controller embedded:<dir>)',
        );
      }
      if (!canImportTypeScript()) {
        process.exitCode = await rerunUnderTsx(dirname(LAUNCHER), 'tributary server');
        return;
      }
      const launcher = (await import(pathToFileURL(LAUNCHER).href)) as Launcher;
      const server = await launcher.startRealPravega({
        auth: opts.auth,
        tls: opts.tls,
        heapMb: opts.heap,
        runtime: 'jvm',
        log: (line) => process.stderr.write(`[pravega] ${line}\n`),
      });
      const info = {
        controllerUri: server.controllerUri,
        ...(server.credentials ? { credentials: server.credentials } : {}),
        ...(server.caCertFile ? { caCertFile: server.caCertFile } : {}),
        logFile: server.logFile,
      };
      out.result(info, () => {
        out.line(`controller URI: ${info.controllerUri}`);
        if (info.credentials)
          out.line(`credentials:    ${info.credentials.username} / ${info.credentials.password}`);
        if (info.caCertFile) out.line(`trusted CA:     ${info.caCertFile}`);
        out.line(`logs:           ${info.logFile}`);
        out.line(
          `use it: tributary --controller ${info.controllerUri} ... (or TRIBUTARY_CONTROLLER=${info.controllerUri}); Ctrl-C stops it, its data is in memory only`,
        );
      });
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      process.stderr.write(`${signal}: stopping the Pravega server ...\n`);
      try {
        await server.stop();
      } catch (err) {
        throw new TributaryError(
          'ENVIRONMENT',
          `the Pravega server did not stop cleanly: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      out.result({ stopped: true }, () => out.line('stopped.'));
    });
}
