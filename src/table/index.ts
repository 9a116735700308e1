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
export {
  pravegaTableFactory,
  resolvePravegaTable,
  PRAVEGA_METADATA,
} from './connector/pravega-table-factory.js';
export {
  parsePravegaOptions,
  PRAVEGA_OPTION_KEYS,
  type PravegaTableOptions,
} from './options/pravega-options.js';
export { parseFlinkDuration } from './options/duration.js';
export { jsonFormat } from './formats/json.js';
export { csvFormat } from './formats/csv.js';
export { rawFormat } from './formats/raw.js';
export { avroFormat } from './formats/avro.js';
export { debeziumJsonFormat } from './formats/debezium-json.js';
export {
  toRowValue,
  toJsonValue,
  formatTimestamp,
  formatDate,
  formatTime,
  type TimestampFormat,
  type ValuePlace,
} from './types/values.js';
export {
  Schema,
  SchemaBuilder,
  TableDescriptor,
  TableDescriptorBuilder,
  type TableDefinition,
} from './descriptor.js';

// table environment, SQL
export {
  TableEnvironment,
  formatJobGraph,
  type TableResult,
  type TableEnvironmentOptions,
} from './table-environment.js';
export { parseSql } from './sql/parse.js';
export type { Statement, Query, Expr } from './sql/ast.js';
export { InMemoryCatalog } from './sql/in-memory-catalog.js';
export { datagenTableFactory } from './connectors/datagen.js';
export { printTableFactory } from './connectors/print.js';
export { blackholeTableFactory } from './connectors/blackhole.js';

// catalog
export { PravegaCatalog, pravegaCatalogFactory } from './catalog/pravega-catalog.js';
export {
  SchemaRegistryClient,
  type RegistryClientOptions,
  type GroupProperties,
  type SchemaInfo,
  type VersionInfo,
  type EncodingInfo,
  type SchemaWithVersion,
  type SerializationFormat,
  type CompatibilityPolicy,
} from './catalog/registry-client.js';
export { avroSchemaOf, fieldsOfAvro } from './catalog/avro-schema.js';
export { jsonSchemaOf, fieldsOfJsonSchema } from './catalog/json-schema.js';
export {
  pravegaRegistryFormat,
  schemaInfoOf,
  fieldsOfSchemaInfo,
} from './formats/pravega-registry.js';
export { writeRegistryHeader, readRegistryHeader } from './formats/pravega-registry-header.js';
