export { startRegistryServer, type RegistryServer, type RegistryServerOptions } from './server.js';
export { ensureRegistryJars, REGISTRY_VERSION } from './jars.js';
