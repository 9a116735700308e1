import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { javaExecutable } from '../tools/pravega-server/jars.js';

/**
 * The same job on Apache Flink 1.16 + the Pravega connector 0.13 (bench/flink: a small Maven
 * project, compiled here; its dependencies come from Maven Central the first time), run in its
 * own JVM (a local mini-cluster) against the same server, for `npm run bench:job -- --flink`.
 */

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), 'flink');
const BUILD_TIMEOUT_MS = 20 * 60_000;

export interface FlinkRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

let classpath: string | undefined;

/** Compiles bench/flink and returns its classpath; throws with Maven's last lines if it fails. */
export function buildFlinkJob(): string {
  if (classpath !== undefined) return classpath;
  const cpFile = join(PROJECT, 'target', 'classpath.txt');
  const result = spawnSync(
    'mvn',
    ['-B', '-q', 'compile', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`],
    { cwd: PROJECT, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS },
  );
  if (result.error || result.status !== 0 || !existsSync(cpFile)) {
    const tail = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-15);
    throw new Error(
      `building bench/flink with Maven failed (${result.error?.message ?? `exit ${result.status}`}); run \`mvn -B compile\` in ${PROJECT} to see why:\n${tail.join('\n')}`,
    );
  }
  classpath = `${join(PROJECT, 'target', 'classes')}:${readFileSync(cpFile, 'utf8').trim()}`;
  return classpath;
}

/** Flink 1.16 on Java 17 needs these packages opened to its serializers (Kryo, closure cleaner). */
const ADD_OPENS = [
  'java.base/java.lang',
  'java.base/java.lang.invoke',
  'java.base/java.lang.reflect',
  'java.base/java.io',
  'java.base/java.net',
  'java.base/java.nio',
  'java.base/java.text',
  'java.base/java.time',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/java.util.concurrent.atomic',
  'java.base/sun.nio.ch',
].flatMap((p) => ['--add-opens', `${p}=ALL-UNNAMED`]);

/**
 * Runs the Flink job once against `scope/in` → `scope/out`. A run past `deadlineMs` is killed
 * and reported as a hang; a failed one with its error line.
 */
export async function runFlinkJob(
  uri: string,
  scope: string,
  guarantee: 'exactly-once' | 'at-least-once',
  deadlineMs: number,
): Promise<FlinkRun | { readonly failure: string }> {
  const cp = buildFlinkJob();
  const child = spawn(
    javaExecutable(),
    ['-Xmx2g', ...ADD_OPENS, '-cp', cp, 'io.tributary.bench.FlinkJobBench', uri, scope, guarantee],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-20_000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, deadlineMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  if (timedOut) return { failure: `hung: no result within ${deadlineMs / 1000} s (killed)` };
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) {
    const cause =
      stderr
        .split('\n')
        .find((l) => /Exception|Error/.test(l))
        ?.trim() ?? `exit ${code}`;
    return { failure: `failed: ${cause}` };
  }
  return JSON.parse(line) as FlinkRun;
}
