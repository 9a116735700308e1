/**
 * A Node module resolve hook (registered by `parser-loader.ts` with `module.register`) for one
 * package only: dt-sql-parser's ESM build imports its own files without extensions
 * (`./parser`, `./lib/flink/FlinkSqlParser`), which bundlers and tsx accept but plain Node does
 * not. For a relative specifier imported from inside `dt-sql-parser/` that Node cannot resolve,
 * it retries with `.js`, then `/index.js`. Every other import passes through untouched.
 */
interface ResolveContext {
  readonly parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: NextResolve,
): Promise<unknown> {
  const inside =
    context.parentURL?.includes('/node_modules/dt-sql-parser/') === true &&
    (specifier.startsWith('./') || specifier.startsWith('../'));
  if (!inside) return nextResolve(specifier, context);
  try {
    return await nextResolve(specifier, context);
  } catch (first) {
    for (const candidate of [`${specifier}.js`, `${specifier}/index.js`]) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // try the next spelling
      }
    }
    throw first;
  }
}
