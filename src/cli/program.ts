import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerCheckpoints } from './commands/checkpoints.js';
import { registerCut } from './commands/cut.js';
import { registerRun } from './commands/run.js';
import { registerScopes } from './commands/scopes.js';
import { registerServer } from './commands/server.js';
import { registerSql } from './commands/sql.js';
import { registerStreams } from './commands/streams.js';
import { registerTail } from './commands/tail.js';
import { registerWorkers } from './commands/workers.js';
import { registerWrite } from './commands/write.js';
import { CONTROLLER_ENV, DEFAULT_EMBEDDED_DIR } from './connection.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const HELP_FOOTER = `
Pravega connection: --controller <uri>, else $${CONTROLLER_ENV}, else the embedded store in
./${DEFAULT_EMBEDDED_DIR} (embedded:<dir> for another directory; tcp://host:9090 or tls://host:9090
for a real cluster, with $TRIBUTARY_USERNAME / $TRIBUTARY_PASSWORD and $TRIBUTARY_TRUSTED_CA).
The embedded store is opened in-process: one process per directory at a time.

Exit codes: 0 ok, 1 failure, 2 usage error. Errors are one line; --verbose adds the stack.`;

/** The `tributary` command with every subcommand (commander; errors are thrown, not exited). */
export function buildProgram(): Command {
  const program = new Command('tributary')
    .description(
      'Tributary: exactly-once stream processing on Pravega — run jobs, manage and read streams',
    )
    .version(packageVersion(), '-V, --version')
    .option(
      '--controller <uri>',
      `Pravega controller URI (default: $${CONTROLLER_ENV}, else embedded:./${DEFAULT_EMBEDDED_DIR})`,
    )
    .option(
      '--json',
      'machine-readable output (JSON; one object per line for streams of events)',
      false,
    )
    .option('--verbose', 'print stacks with errors', false)
    .addHelpText('after', HELP_FOOTER)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // commander's own error lines are printed by main as one line, with the exit code 2
      writeErr: (text) => {
        if (!text.startsWith('error:')) process.stderr.write(text);
      },
    });
  registerRun(program);
  registerWorkers(program);
  registerSql(program);
  registerStreams(program);
  registerScopes(program);
  registerWrite(program);
  registerTail(program);
  registerCut(program);
  registerCheckpoints(program);
  registerServer(program);
  for (const command of program.commands) applyToTree(command);
  return program;
}

/** Subcommands inherit exit override and output settings. */
function applyToTree(command: Command): void {
  command.exitOverride();
  command.configureOutput({
    writeErr: (text) => {
      if (!text.startsWith('error:')) process.stderr.write(text);
    },
  });
  command.showSuggestionAfterError(true);
  for (const sub of command.commands) applyToTree(sub);
}
