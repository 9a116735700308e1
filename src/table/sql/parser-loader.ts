/**
 * Loads dt-sql-parser (the Flink SQL ANTLR grammar) once, lazily.
 *
 * Why a loader: the package's ESM `dist/` imports its own files without extensions and by
 * directory, which tsx/vitest resolve but plain Node (the built CLI in `dist/`) refuses with
 * ERR_MODULE_NOT_FOUND. When running compiled JavaScript, a resolve hook
 * (`dt-sql-parser-resolve-hook.js`, shipped next to this file) is registered with
 * `module.register()` first; it only touches relative imports made from inside dt-sql-parser.
 * Under tsx/vitest (this file is `.ts`) the package is imported directly.
 */
import { register } from 'node:module';
import type * as DtSqlParser from 'dt-sql-parser';

type ParserModule = typeof DtSqlParser;

let loading: Promise<ParserModule> | undefined;

export function loadSqlParser(): Promise<ParserModule> {
  loading ??= load();
  return loading;
}

async function load(): Promise<ParserModule> {
  if (!import.meta.url.endsWith('.ts')) {
    register(new URL('./dt-sql-parser-resolve-hook.js', import.meta.url));
  }
  return import('dt-sql-parser');
}
