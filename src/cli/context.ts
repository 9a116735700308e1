import type { Command } from 'commander';
import { resolveController, type ControllerChoice } from './connection.js';
import { createOutput, type Output } from './output.js';

/** The options every command has (given before or after the command name). */
export interface GlobalOptions {
  readonly controller: string | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
}

export interface CommandContext {
  readonly options: GlobalOptions;
  readonly out: Output;
  readonly controller: () => ControllerChoice;
}

export function contextOf(command: Command): CommandContext {
  const all = command.optsWithGlobals<Record<string, unknown>>();
  const options: GlobalOptions = {
    controller: typeof all['controller'] === 'string' ? all['controller'] : undefined,
    json: all['json'] === true,
    verbose: all['verbose'] === true,
  };
  return {
    options,
    out: createOutput(options.json),
    controller: () => resolveController(options.controller),
  };
}
