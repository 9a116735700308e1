import { parseArgs } from 'node:util';
import { TributaryError, errorMessage } from '../../src/errors.js';
import { startRealPravega } from './index.js';

/**
 * `npm run pravega [-- --auth] [--tls] [--heap <MiB>]`: a real Pravega server in the foreground
 * for developing against and for running the examples on one. Ctrl-C stops it.
 */

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      auth: { type: 'boolean', default: false },
      tls: { type: 'boolean', default: false },
      heap: { type: 'string', default: '1024' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run pravega [-- --auth] [--tls] [--heap <MiB>]');
    return;
  }
  const server = await startRealPravega({
    auth: values.auth,
    tls: values.tls,
    heapMb: Number(values.heap),
    runtime: 'jvm',
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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the Pravega server ...`);
    server.stop().then(
      () => {
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
