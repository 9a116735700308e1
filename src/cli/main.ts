#!/usr/bin/env node
import { runCli } from './run-cli.js';

/** The `tributary` executable (package.json `bin`): runs the command, flushes, exits with its code. */

async function flush(stream: NodeJS.WriteStream): Promise<void> {
  await new Promise<void>((resolve) => stream.write('', () => resolve()));
}

// `tributary tail ... | head`: a closed stdout ends the command quietly, as for any Unix tool
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv.slice(2));
await flush(process.stdout);
await flush(process.stderr);
process.exit(code);
