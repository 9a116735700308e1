/**
 * The table layer: Table API, Flink SQL subset and catalogs, compiled to the DataStream runtime
 * with the Pravega source and sink (so exactly-once comes from what exists).
 */
export type * from './types.js';
export { parseDataType, formatDataType } from './data-types.js';
export {
  registerTableFactory,
  registerFormat,
  registerCatalogFactory,
  findTableFactory,
  findFormat,
  findCatalogFactory,
  knownFormats,
} from './factories.js';

// connector, formats, descriptor

// table environment, SQL
export {
  TableEnvironment,
  formatJobGraph,
  type TableResult,
  type TableDefinition,
  type TableEnvironmentOptions,
} from './table-environment.js';
export { parseSql } from './sql/parse.js';
export type { Statement, Query, Expr } from './sql/ast.js';
export { InMemoryCatalog } from './sql/in-memory-catalog.js';
export { datagenTableFactory } from './connectors/datagen.js';
export { printTableFactory } from './connectors/print.js';
export { blackholeTableFactory } from './connectors/blackhole.js';

// catalog
