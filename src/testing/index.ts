/**
 * `tributary/testing`: a real Pravega server in a container for testing jobs
 * (needs the optional peer dependency `testcontainers` and a container runtime).
 */
export {
  PravegaContainer,
  StartedPravegaContainer,
  type PravegaConnection,
} from './pravega-container.js';
export { DEFAULT_CREDENTIALS, type Credentials } from './password-file.js';
export {
  LOCAL_PRAVEGA_IMAGE,
  OFFICIAL_PRAVEGA_IMAGE,
  PRAVEGA_SERVER_VERSION,
} from './pravega-image.js';
export { claimTestRun } from './container-labels.js';
export { removeLeftoverContainers, removeRunContainers, type RemovedContainer } from './cleanup.js';
