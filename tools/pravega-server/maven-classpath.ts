import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TributaryError } from '../../src/errors.js';

/**
 * Resolves a tool's `pom.xml` to a classpath with Maven (`dependency:build-classpath`) into
 * `<cacheDir>/m2`, once: the classpath is cached in a file named from the version and the pom's
 * hash, and reused while every jar it names exists. Used for the Pravega server and the schema
 * registry, each with its own pom and cache directory (their dependencies clash).
 */
export interface MavenClasspathRequest {
  /** what the jars are, for messages: "the Pravega 0.13.0 server" */
  readonly what: string;
  readonly pomPath: string;
  readonly version: string;
  readonly cacheDir: string;
  /** the environment variable that points at another cache, named in the "no Maven" message */
  readonly cacheEnv: string;
  readonly log: (line: string) => void;
}

export interface MavenClasspath {
  readonly classpath: string;
  /** set when this call downloaded the jars */
  readonly download?: { readonly seconds: number; readonly bytes: number };
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
  const jars = readFileSync(file, 'utf8')
    .trim()
    .split(':')
    .filter((p) => p.length > 0);
  if (jars.length < 50 || !jars.every((jar) => existsSync(jar))) return undefined;
  return jars.join(':');
}

export function mavenClasspath(request: MavenClasspathRequest): MavenClasspath {
  const { what, pomPath, version, cacheDir, cacheEnv, log } = request;
  const hash = createHash('sha256').update(readFileSync(pomPath)).digest('hex').slice(0, 12);
  const classpathFile = join(cacheDir, `classpath-${version}-${hash}.txt`);
  const cached = cachedClasspath(classpathFile);
  if (cached !== undefined) return { classpath: cached };

  const mvn = process.env['MAVEN_CMD'] ?? 'mvn';
  const probe = spawnSync(mvn, ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `Maven is needed once to download ${what} jars, but \`${mvn} -v\` failed` +
        ` (${probe.error?.message ?? probe.stderr.trim()}). Install Maven (e.g. \`apt-get install maven\`)` +
        ` or put the jars in place with ${cacheEnv}.`,
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const repo = join(cacheDir, 'm2');
  const before = dirSize(repo);
  log(`downloading ${what} jars and their dependencies with Maven into ${repo} ...`);
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
        pomPath,
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
      `Maven could not download ${what} jars from Maven Central ` +
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
    `${what} jars ready in ${download.seconds.toFixed(1)} s (${(download.bytes / 1048576).toFixed(0)} MiB downloaded)`,
  );
  return { classpath, download };
}
