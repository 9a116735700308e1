import { CommanderError } from 'commander';
import { TributaryError, errorMessage } from '../errors.js';
import { buildProgram } from './program.js';
import { isUsageError } from './usage-error.js';

/**
 * The `tributary` command. Exit codes: 0 ok, 1 failure, 2 usage error. Every error is one line on
 * stderr (`tributary: <message> [CODE]`; with --json a JSON object); --verbose adds the stack and
 * causes.
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

function describeError(err: unknown, verbose: boolean): string {
  if (!verbose) return '';
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    parts.push(
      current instanceof Error ? (current.stack ?? current.message) : JSON.stringify(current),
    );
    current = (current as { cause?: unknown }).cause;
    if (current !== undefined && current !== null) parts.push('caused by:');
  }
  return `${parts.join('\n')}\n`;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT_OK; // --help, --version
      const message = oneLine(err.message.replace(/^error: /, ''));
      printError(json, 'ILLEGAL_ARGUMENT', `${message} (see tributary --help)`);
      return EXIT_USAGE;
    }
    const code = TributaryError.is(err) ? err.code : undefined;
    const message = oneLine(TributaryError.is(err) ? err.message : errorMessage(err));
    printError(json, code, message);
    if (verbose) process.stderr.write(describeError(err, true));
    return isUsageError(err) ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function printError(json: boolean, code: string | undefined, message: string): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`tributary: ${message}${code ? ` [${code}]` : ''}\n`);
}
