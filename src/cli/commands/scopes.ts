import type { Command } from 'commander';
import { TributaryError } from '../../errors.js';
import { parseScopeArg } from '../args.js';
import { withClient } from '../connection.js';
import { contextOf } from '../context.js';

/** `tributary scopes list|create|delete` */
export function registerScopes(program: Command): void {
  const scopes = program.command('scopes').description('list, create and delete scopes');

  scopes
    .command('list')
    .description('list the scopes')
    .action(async (_opts: unknown, command: Command) => {
      const { out, controller } = contextOf(command);
      const names = await withClient(controller(), async (client) => {
        const found: string[] = [];
        for await (const scope of client.controller.listScopes()) found.push(scope);
        return found.sort();
      });
      out.table(
        ['scope'],
        names.map((scope) => ({ scope })),
      );
    });

  scopes
    .command('create')
    .description('create a scope (no error if it exists)')
    .argument('<scope>', 'scope name', (text: string) => parseScopeArg(text))
    .action(async (scope: string, _opts: unknown, command: Command) => {
      const { out, controller } = contextOf(command);
      const created = await withClient(controller(), (client) => client.createScope(scope));
      out.result({ scope, created }, () =>
        out.line(created ? `created scope ${scope}` : `scope ${scope} already exists`),
      );
    });

  scopes
    .command('delete')
    .description('delete an empty scope')
    .argument('<scope>', 'scope name', (text: string) => parseScopeArg(text))
    .action(async (scope: string, _opts: unknown, command: Command) => {
      const { out, controller } = contextOf(command);
      const deleted = await withClient(controller(), async (client) => {
        try {
          return await client.deleteScope(scope);
        } catch (err) {
          if (TributaryError.is(err, 'SCOPE_NOT_EMPTY')) {
            throw new TributaryError(
              'SCOPE_NOT_EMPTY',
              `scope ${scope} still has streams: seal and delete them first (tributary streams list ${scope})`,
              { cause: err },
            );
          }
          throw err;
        }
      });
      if (!deleted) throw new TributaryError('SCOPE_NOT_FOUND', `scope ${scope} does not exist`);
      out.result({ scope, deleted }, () => out.line(`deleted scope ${scope}`));
    });
}
