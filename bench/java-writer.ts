import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePravegaJars } from '../tools/pravega-server/jars.js';

/**
 * The Java client's event writer (from the same Maven download as the server) under the load
 * bench/writer.ts puts on ours, for a side-by-side number on the same machine and server. The
 * source is bench/java/JavaWriterBench.java, compiled here with the JDK's javac.
 */

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'java', 'JavaWriterBench.java');

let compiled: { java: string; classpath: string; logback: string } | undefined;

function compile(): { java: string; classpath: string; logback: string } {
  if (compiled) return compiled;
  const install = ensurePravegaJars();
  const out = join(install.cacheDir, 'bench-java');
  mkdirSync(out, { recursive: true });
  const javac = join(dirname(install.java), 'javac');
  const result = spawnSync(javac, ['-cp', install.classpath, '-d', out, SOURCE], {
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    throw new Error(
      `javac failed (${result.error?.message ?? result.stderr.trim()}); a JDK is needed for the Java side of this benchmark`,
    );
  }
  const logback = join(out, 'logback.xml');
  writeFileSync(
    logback,
    '<configuration><root level="ERROR"/></configuration>\n', // the Java client logs at DEBUG otherwise
  );
  compiled = { java: install.java, classpath: `${out}:${install.classpath}`, logback };
  return compiled;
}

/**
 * Runs the Java writer flat out for `seconds`: the line it printed, or why it failed (a run that
 * overwhelms the server is a result too, not a reason to drop the rest of the benchmark).
 */
export function runJavaWriter(uri: string, scope: string, size: number, seconds: number): string {
  const { java, classpath, logback } = compile();
  const result = spawnSync(
    java,
    [
      `-Dlogback.configurationFile=${logback}`,
      '-cp',
      classpath,
      'JavaWriterBench',
      uri,
      scope,
      `java${size}`,
      String(size),
      String(seconds),
    ],
    { encoding: 'utf8', timeout: (seconds + 120) * 1000 },
  );
  if (!result.error && result.status === 0) return result.stdout.trim();
  const stderr = result.stderr;
  const cause = /ContainerNotFoundException|Container Id does not exist/.test(stderr)
    ? 'the server failed its segment container (its cache filled up; see the server log)'
    : (stderr
        .split('\n')
        .find((l) => /Exception|Error/.test(l))
        ?.trim() ?? `exit ${result.status ?? result.error?.message}`);
  return `${String(size).padStart(6)} B events, flat out: the Java writer failed: ${cause}`;
}
