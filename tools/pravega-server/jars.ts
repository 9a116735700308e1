import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../../src/errors.js';

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

function pomHash(): string {
  return createHash('sha256').update(readFileSync(POM_PATH)).digest('hex').slice(0, 12);
}

function dirSize(dir: string): number {
  let total = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirSize(path) : statSync(path).size;
  }
  return total;
}

function cachedClasspath(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const classpath = readFileSync(file, 'utf8').trim();
  const jars = classpath.split(':').filter((p) => p.length > 0);
  if (jars.length < 50 || !jars.every((jar) => existsSync(jar))) return undefined;
  return classpath;
}

export function ensurePravegaJars(
  options: { cacheDir?: string; log?: (line: string) => void } = {},
): PravegaInstallation {
  const { java, major } = findJava();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const log = options.log ?? (() => undefined);
  const classpathFile = join(cacheDir, `classpath-${PRAVEGA_VERSION}-${pomHash()}.txt`);
  const cached = cachedClasspath(classpathFile);
  if (cached !== undefined) return { java, javaMajor: major, classpath: cached, cacheDir };

  const mvn = process.env['MAVEN_CMD'] ?? 'mvn';
  const probe = spawnSync(mvn, ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `Maven is needed once to download the Pravega ${PRAVEGA_VERSION} server jars, but \`${mvn} -v\` failed` +
        ` (${probe.error?.message ?? probe.stderr.trim()}). Install Maven (e.g. \`apt-get install maven\`)` +
        ' or put the jars in place with TRIBUTARY_PRAVEGA_CACHE.',
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const repo = join(cacheDir, 'm2');
  const before = dirSize(repo);
  log(
    `downloading io.pravega:pravega-standalone:${PRAVEGA_VERSION} and its dependencies with Maven into ${repo} ...`,
  );
  const started = Date.now();
  const tmpFile = `${classpathFile}.tmp`;
  // a flaky network gets a few tries: Maven resumes from what it has, and -U makes it ask again
  // for artifacts whose download failed before (it caches the failure otherwise)
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
      `Maven could not download the Pravega ${PRAVEGA_VERSION} server jars from Maven Central ` +
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
  const download = { seconds: (Date.now() - started) / 1000, bytes: dirSize(repo) - before };
  log(
    `Pravega server jars ready in ${download.seconds.toFixed(1)} s (${(download.bytes / 1048576).toFixed(0)} MiB downloaded)`,
  );
  return { java, javaMajor: major, classpath, cacheDir, download };
}
