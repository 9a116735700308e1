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
