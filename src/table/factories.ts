/**
 * Where table, format and catalog factories are found by identifier. Each piece registers its own
 * factories in its module (`registerFormat(jsonFormat)`), and `src/table/index.ts` imports them
 * all, so a `WITH ('connector' = 'pravega', 'format' = 'json')` finds both.
 */
import { TributaryError } from '../errors.js';
import type { CatalogFactory, DynamicTableFactory, FormatFactory } from './types.js';

const tables = new Map<string, DynamicTableFactory>();
const formats = new Map<string, FormatFactory>();
const catalogs = new Map<string, CatalogFactory>();

function register<F extends { identifier: string }>(what: string, map: Map<string, F>, f: F): void {
  const existing = map.get(f.identifier);
  if (existing !== undefined && existing !== f) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `a ${what} named '${f.identifier}' is already registered`,
    );
  }
  map.set(f.identifier, f);
}

function find<F>(what: string, key: string, map: Map<string, F>, id: string, table: string): F {
  const f = map.get(id);
  if (f === undefined) {
    const known = [...map.keys()].sort().join(', ') || 'none';
    throw new TributaryError(
      'CONFIG_INVALID',
      `${table}: '${key}' = '${id}' is not a known ${what} (known: ${known})`,
    );
  }
  return f;
}

export const registerTableFactory = (f: DynamicTableFactory): void =>
  register('connector', tables, f);
export const registerFormat = (f: FormatFactory): void => register('format', formats, f);
export const registerCatalogFactory = (f: CatalogFactory): void =>
  register('catalog type', catalogs, f);

/** The factory for `connector = id`; the error names the table and the known connectors. */
export const findTableFactory = (id: string, table: string): DynamicTableFactory =>
  find('connector', 'connector', tables, id, table);
export const findFormat = (id: string, table: string): FormatFactory =>
  find('format', 'format', formats, id, table);
export const findCatalogFactory = (id: string, catalog: string): CatalogFactory =>
  find('catalog type', 'type', catalogs, id, catalog);
export const knownFormats = (): readonly string[] => [...formats.keys()].sort();
