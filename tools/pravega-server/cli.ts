import { parseArgs } from 'node:util';
import { TributaryError, errorMessage } from '../../src/errors.js';
import { startRealPravega } from './index.js';

/**
 * `npm run pravega [-- --auth] [--tls] [--heap <MiB>] [--container]`: a real Pravega server in the
 * foreground for developing against and for running the examples on one — a local JVM, or with
 * --container a container of the Pravega image (see `npm run pravega:image`). Ctrl-C stops it.
 */

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      auth: { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
      heap: { type: 'string', default: '1024' },
      container: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run pravega [-- --auth] [--tls] [--heap <MiB>] [--container]');
    return;
  }
  const server = await startRealPravega({
    auth: values.auth,
    tls: values.tls,
    heapMb: Number(values.heap),
    runtime: values.container ? 'container' : 'jvm',
    log: (line) => console.log(line),
  });
  console.log('');
  console.log(`  controller URI: ${server.controllerUri}`);
  if (server.credentials) {
    console.log(
      `  credentials:    ${server.credentials.username} / ${server.credentials.password}`,
    );
  }
  if (server.caCertFile) console.log(`  trusted CA:     ${server.caCertFile}`);
  console.log(`  logs:           ${server.logFile}`);
  console.log('');
  console.log('Press Ctrl-C to stop the server (all its data is in memory and goes with it).');
  // a container server holds no handle in this process: keep it alive until stopped
  const keepAlive = setInterval(() => undefined, 60_000);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the Pravega server ...`);
    server.stop().then(
      () => {
        clearInterval(keepAlive);
        console.log('stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`could not stop cleanly: ${errorMessage(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(TributaryError.is(err) ? err.message : errorMessage(err));
  process.exit(1);
});
