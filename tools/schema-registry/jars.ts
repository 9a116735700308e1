import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJava } from '../pravega-server/jars.js';
import { mavenClasspath } from '../pravega-server/maven-classpath.js';

/**
 * Gets the Pravega schema registry's jars (`io.pravega:schemaregistry-server` and, for the
 * interoperability tests, `schemaregistry-serializers`) from Maven Central into a cache directory
 * of their own (reused across runs) and returns their classpath. Kept apart from the standalone
 * server's classpath: the registry brings its own pravega-client, gRPC and Netty versions.
 */

export const REGISTRY_VERSION = '0.2.0';
export const REGISTRY_MAIN_CLASS = 'io.pravega.schemaregistry.service.Main';
const TOOL_DIR = fileURLToPath(new URL('.', import.meta.url));
const POM_PATH = join(TOOL_DIR, 'pom.xml');
const REPO_ROOT = join(TOOL_DIR, '..', '..');

export interface RegistryInstallation {
  readonly java: string;
  readonly javaMajor: number;
  readonly classpath: string;
  readonly cacheDir: string;
  /** seconds Maven took, when this call downloaded the jars */
  readonly downloadSeconds?: number;
}

export function registryCacheDir(): string {
  return process.env['TRIBUTARY_REGISTRY_CACHE'] ?? join(REPO_ROOT, '.cache', 'schema-registry');
}

export function ensureRegistryJars(
  options: { cacheDir?: string; log?: (line: string) => void } = {},
): RegistryInstallation {
  const { java, major } = findJava();
  const cacheDir = options.cacheDir ?? registryCacheDir();
  const { classpath, download } = mavenClasspath({
    what: `the schema registry ${REGISTRY_VERSION}`,
    pomPath: POM_PATH,
    version: REGISTRY_VERSION,
    cacheDir,
    cacheEnv: 'TRIBUTARY_REGISTRY_CACHE',
    log: options.log ?? (() => undefined),
  });
  return {
    java,
    javaMajor: major,
    classpath,
    cacheDir,
    ...(download ? { downloadSeconds: download.seconds } : {}),
  };
}
