import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../../src/errors.js';
import { findJava } from '../pravega-server/jars.js';

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

function cachedClasspath(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const jars = readFileSync(file, 'utf8')
    .trim()
    .split(':')
    .filter((p) => p.length > 0);
  if (jars.length < 50 || !jars.every((jar) => existsSync(jar))) return undefined;
  return jars.join(':');
}

export function ensureRegistryJars(
  options: { cacheDir?: string; log?: (line: string) => void } = {},
): RegistryInstallation {
  const { java, major } = findJava();
  const cacheDir = options.cacheDir ?? registryCacheDir();
  const log = options.log ?? (() => undefined);
  const hash = createHash('sha256').update(readFileSync(POM_PATH)).digest('hex').slice(0, 12);
  const classpathFile = join(cacheDir, `classpath-${REGISTRY_VERSION}-${hash}.txt`);
  const cached = cachedClasspath(classpathFile);
  if (cached !== undefined) return { java, javaMajor: major, classpath: cached, cacheDir };

  const mvn = process.env['MAVEN_CMD'] ?? 'mvn';
  const probe = spawnSync(mvn, ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `Maven is needed once to download the schema registry ${REGISTRY_VERSION} jars, but \`${mvn} -v\` failed` +
        ` (${probe.error?.message ?? probe.stderr.trim()}). Install Maven (e.g. \`apt-get install maven\`)` +
        ' or put the jars in place with TRIBUTARY_REGISTRY_CACHE.',
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const repo = join(cacheDir, 'm2');
  log(
    `downloading io.pravega:schemaregistry-server:${REGISTRY_VERSION} and its dependencies with Maven into ${repo} ...`,
  );
  const started = Date.now();
  const tmpFile = `${classpathFile}.tmp`;
  const attempts = 3;
  for (let attempt = 1; ; attempt++) {
    const result = spawnSync(
      mvn,
      [
        '-B',
        '-q',
        ...(attempt > 1 ? ['-U'] : []),
        '-Dmaven.wagon.http.retryHandler.count=3',
        '-f',
        POM_PATH,
        `-Dmaven.repo.local=${repo}`,
        `-Dmdep.outputFile=${tmpFile}`,
        'dependency:build-classpath',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (!result.error && result.status === 0) break;
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    if (attempt < attempts) {
      log(`Maven failed (attempt ${attempt} of ${attempts}); trying again in 5 s:\n${output}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_000); // a synchronous pause
      continue;
    }
    throw new TributaryError(
      'ENVIRONMENT',
      `Maven could not download the schema registry ${REGISTRY_VERSION} jars from Maven Central ` +
        `(exit ${result.status ?? result.error?.message}, ${attempts} attempts). Check that https://repo.maven.apache.org ` +
        `is reachable (or configure a mirror in ~/.m2/settings.xml). Maven said:\n${output}`,
    );
  }
  renameSync(tmpFile, classpathFile);
  const classpath = cachedClasspath(classpathFile);
  if (classpath === undefined) {
    throw new TributaryError(
      'ENVIRONMENT',
      `Maven wrote an incomplete classpath to ${classpathFile}`,
    );
  }
  const downloadSeconds = (Date.now() - started) / 1000;
  log(`schema registry jars ready in ${downloadSeconds.toFixed(1)} s`);
  return { java, javaMajor: major, classpath, cacheDir, downloadSeconds };
}
