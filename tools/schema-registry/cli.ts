import { parseArgs } from 'node:util';
import { TributaryError, errorMessage } from '../../src/errors.js';
import { startRegistryServer } from './server.js';

/**
 * `npm run registry [-- --controller tcp://127.0.0.1:9090] [--memory]`: the Pravega schema
 * registry in the foreground, its groups kept on that Pravega server (default) or in memory.
 * Ctrl-C stops it.
 */

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      controller: { type: 'string', default: 'tcp://127.0.0.1:9090' },
      memory: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run registry [-- --controller tcp://host:port] [--memory]');
    return;
  }
  const server = await startRegistryServer({
    store: values.memory ? 'InMemory' : 'Pravega',
    controllerUri: values.controller,
    log: (line) => console.log(line),
  });
  console.log('');
  console.log(`  schema registry URI: ${server.uri}`);
  console.log(`  logs:                ${server.logFile}`);
  console.log('');
  console.log('Press Ctrl-C to stop the registry.');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the schema registry ...`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`could not stop cleanly: ${errorMessage(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  setInterval(() => undefined, 60_000);
}

main().catch((err: unknown) => {
  console.error(TributaryError.is(err) ? err.message : errorMessage(err));
  process.exit(1);
});
