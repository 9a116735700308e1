import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../../src/errors.js';
import { mavenClasspath } from './maven-classpath.js';

/**
 * Gets the Pravega standalone server's jars from Maven Central into a cache directory (reused
 * across runs) and returns its classpath. Needs `java` (11+) and `mvn`; says clearly what to do
 * when either is missing or the download fails.
 */

export const PRAVEGA_VERSION = '0.13.0';
const TOOL_DIR = fileURLToPath(new URL('.', import.meta.url));
export const POM_PATH = join(TOOL_DIR, 'pom.xml');
export const REPO_ROOT = join(TOOL_DIR, '..', '..');

export interface PravegaInstallation {
  readonly java: string;
  readonly javaMajor: number;
  readonly classpath: string;
  readonly cacheDir: string;
  /** set when this call downloaded the jars */
  readonly download?: { readonly seconds: number; readonly bytes: number };
}

export function defaultCacheDir(): string {
  return process.env['TRIBUTARY_PRAVEGA_CACHE'] ?? join(REPO_ROOT, '.cache', 'pravega-server');
}

export function javaExecutable(): string {
  const home = process.env['JAVA_HOME'];
  return home ? join(home, 'bin', 'java') : 'java';
}

export function findJava(): { java: string; major: number } {
  const java = javaExecutable();
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `Java is needed to run the Pravega server but \`${java} -version\` failed` +
        ` (${probe.error?.message ?? probe.stderr.trim()}). Install a JDK 11 or 17` +
        ' (e.g. `apt-get install openjdk-17-jdk-headless`) or set JAVA_HOME.',
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(probe.stderr);
  const first = Number(match?.[1] ?? 0);
  const major = first === 1 ? Number(match?.[2] ?? 0) : first;
  if (major < 11) {
    throw new TributaryError(
      'ENVIRONMENT',
      `Pravega ${PRAVEGA_VERSION} needs Java 11 or newer; ${java} is Java ${major}. Set JAVA_HOME to a newer JDK.`,
    );
  }
  return { java, major };
}

export function ensurePravegaJars(
  options: { cacheDir?: string; log?: (line: string) => void } = {},
): PravegaInstallation {
  const { java, major } = findJava();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const { classpath, download } = mavenClasspath({
    what: `the Pravega ${PRAVEGA_VERSION} server`,
    pomPath: POM_PATH,
    version: PRAVEGA_VERSION,
    cacheDir,
    cacheEnv: 'TRIBUTARY_PRAVEGA_CACHE',
    log: options.log ?? (() => undefined),
  });
  return { java, javaMajor: major, classpath, cacheDir, ...(download ? { download } : {}) };
}
