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

// catalog
