import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../../src/errors.js';
import { LOCAL_PRAVEGA_IMAGE, OFFICIAL_PRAVEGA_IMAGE } from '../../src/testing/pravega-image.js';
import { ensurePravegaJars, PRAVEGA_VERSION, type PravegaInstallation } from './jars.js';

/**
 * Builds the local Pravega image from files already on this machine — the JRE that runs the JVM
 * path and the Maven jars `npm run pravega:fetch` downloads — with no image registry: a root file
 * system (JRE, the shared libraries it links, /bin/sh, the jars, an entry point that behaves like
 * the official image's `standalone`) put into an image `FROM scratch`. Tagged
 * `tributary-local/pravega:<version>-standalone`, so it is never mistaken for the official image.
 * Rebuilt only when its inputs change (their hash is a label of the image).
 */

const IMAGE_FILES = fileURLToPath(new URL('./image/', import.meta.url));
const LABEL_INPUTS = 'tributary.image.inputs';

export interface ImageResult {
  readonly image: string;
  readonly source: 'official' | 'local-existing' | 'local-built';
  readonly seconds: number;
}

function docker(args: string[], what: string, input?: string): string {
  const result = spawnSync('docker', args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
  });
  if (result.error || result.status !== 0) {
    throw new TributaryError(
      'ENVIRONMENT',
      `${what} failed: \`docker ${args.join(' ')}\` → ${result.error?.message ?? `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n')}`,
    );
  }
  return result.stdout;
}

function dockerOk(args: string[], timeoutMs = 120_000): boolean {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs });
  return !result.error && result.status === 0;
}

function javaHome(java: string): string {
  const resolved = spawnSync(
    'readlink',
    ['-f', spawnSync('sh', ['-c', `command -v ${java}`], { encoding: 'utf8' }).stdout.trim()],
    {
      encoding: 'utf8',
    },
  ).stdout.trim();
  if (!resolved)
    throw new TributaryError('ENVIRONMENT', `cannot find the Java installation of ${java}`);
  return dirname(dirname(resolved));
}

// GUI and sound libraries of the JRE: never loaded by a server, and they link X11
const GUI_LIBS =
  /awt_xawt|atk-wrapper|jawt|splashscreen|jsound|javajpeg|lcms|fontmanager|mlib_image/;

/** The shared libraries (outside the JRE) that the JRE's binaries and /bin/sh link. */
function linkedLibraries(binaries: string[]): string[] {
  const libs = new Set<string>();
  for (const binary of binaries) {
    const out = spawnSync('ldd', [binary], { encoding: 'utf8' }).stdout ?? '';
    for (const line of out.split('\n')) {
      const match = /=>\s+(\/\S+)|^\s*(\/\S+)\s+\(/.exec(line);
      const lib = match?.[1] ?? match?.[2];
      if (lib) libs.add(lib);
    }
  }
  return [...libs];
}

function inputsHash(install: PravegaInstallation, home: string): string {
  const hash = createHash('sha256');
  hash.update(PRAVEGA_VERSION);
  hash.update(install.classpath);
  hash.update(readFileSync(join(home, 'release'), 'utf8'));
  for (const file of [
    'entrypoint.sh',
    'pravega-standalone',
    'logback.xml',
    'standalone-config.properties',
  ]) {
    hash.update(readFileSync(join(IMAGE_FILES, file)));
  }
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  return hash.digest('hex').slice(0, 16);
}

function existingInputsLabel(image: string): string | undefined {
  const result = spawnSync(
    'docker',
    ['image', 'inspect', '--format', `{{ index .Config.Labels "${LABEL_INPUTS}" }}`, image],
    {
      encoding: 'utf8',
    },
  );
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export function buildLocalImage(
  log: (line: string) => void,
  options: { force?: boolean } = {},
): ImageResult {
  const started = Date.now();
  const install = ensurePravegaJars({ log });
  const home = javaHome(install.java);
  const inputs = inputsHash(install, home);
  if (!options.force && existingInputsLabel(LOCAL_PRAVEGA_IMAGE) === inputs) {
    log(`${LOCAL_PRAVEGA_IMAGE} is up to date (inputs ${inputs})`);
    return {
      image: LOCAL_PRAVEGA_IMAGE,
      source: 'local-existing',
      seconds: (Date.now() - started) / 1000,
    };
  }
  const context = join(install.cacheDir, 'image-context');
  rmSync(context, { recursive: true, force: true });
  const root = join(context, 'rootfs');
  const put = (from: string, to: string) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to));
  };

  // the JRE: bin/java and keytool, lib/ without sources and GUI libraries (symlinks followed)
  mkdirSync(join(root, 'opt/java/bin'), { recursive: true });
  for (const tool of ['java', 'keytool']) put(join(home, 'bin', tool), `opt/java/bin/${tool}`);
  cpSync(join(home, 'lib'), join(root, 'opt/java/lib'), {
    recursive: true,
    dereference: true,
    filter: (src) =>
      !/src\.zip$/.test(src) && !(src.endsWith('.so') && GUI_LIBS.test(basename(src))),
  });
  cpSync(join(home, 'conf'), join(root, 'opt/java/conf'), { recursive: true, dereference: true });
  put(join(home, 'release'), 'opt/java/release');
  // the C libraries they link, and a shell for the entry point
  const sharedObjects = spawnSync('find', [join(root, 'opt/java/lib'), '-name', '*.so'], {
    encoding: 'utf8',
  })
    .stdout.split('\n')
    .filter((s) => s !== '');
  for (const lib of linkedLibraries([join(home, 'bin/java'), '/bin/dash', ...sharedObjects])) {
    if (lib.startsWith(root)) continue;
    put(lib, lib.slice(1));
  }
  put('/bin/dash', 'bin/sh');
  // the Pravega jars
  const jars = install.classpath.split(':').filter((p) => p !== '');
  mkdirSync(join(root, 'opt/pravega/lib'), { recursive: true });
  for (const jar of jars) copyFileSync(jar, join(root, 'opt/pravega/lib', basename(jar)));
  for (const file of ['logback.xml', 'standalone-config.properties']) {
    put(join(IMAGE_FILES, file), `opt/pravega/conf/${file}`);
  }
  put(join(IMAGE_FILES, 'entrypoint.sh'), 'opt/pravega/scripts/entrypoint.sh');
  put(join(IMAGE_FILES, 'pravega-standalone'), 'opt/pravega/bin/pravega-standalone');
  for (const script of ['scripts/entrypoint.sh', 'bin/pravega-standalone']) {
    chmodSync(join(root, 'opt/pravega', script), 0o755);
  }
  mkdirSync(join(root, 'tmp'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');

  writeFileSync(
    join(context, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      'ENV JAVA_HOME=/opt/java PATH=/opt/java/bin:/bin',
      `LABEL org.opencontainers.image.title="Pravega ${PRAVEGA_VERSION} standalone (built locally by Tributary, not the official image)"`,
      `LABEL org.opencontainers.image.version="${PRAVEGA_VERSION}" ${LABEL_INPUTS}="${inputs}"`,
      'EXPOSE 9090 12345',
      'ENTRYPOINT ["/opt/pravega/scripts/entrypoint.sh"]',
      'CMD ["standalone"]',
      '',
    ].join('\n'),
  );
  log(`building ${LOCAL_PRAVEGA_IMAGE} from ${home} and ${jars.length} Pravega jars ...`);
  docker(['build', '-q', '-t', LOCAL_PRAVEGA_IMAGE, context], `building ${LOCAL_PRAVEGA_IMAGE}`);
  rmSync(context, { recursive: true, force: true });
  const seconds = (Date.now() - started) / 1000;
  const size = Number(
    docker(
      ['image', 'inspect', '--format', '{{.Size}}', LOCAL_PRAVEGA_IMAGE],
      'inspecting the image',
    ).trim(),
  );
  log(
    `built ${LOCAL_PRAVEGA_IMAGE} in ${seconds.toFixed(1)} s (${(size / 1048576).toFixed(0)} MiB)`,
  );
  return { image: LOCAL_PRAVEGA_IMAGE, source: 'local-built', seconds };
}

/**
 * The image the tests use: the official one where it is present or can be pulled, the local
 * build otherwise (`npm run pravega:image -- --local` skips the pull).
 */
export function ensurePravegaImage(log: (line: string) => void): ImageResult {
  const started = Date.now();
  if (dockerOk(['image', 'inspect', OFFICIAL_PRAVEGA_IMAGE])) {
    log(`using the official image ${OFFICIAL_PRAVEGA_IMAGE} (already present)`);
    return { image: OFFICIAL_PRAVEGA_IMAGE, source: 'official', seconds: 0 };
  }
  log(`trying to pull the official image ${OFFICIAL_PRAVEGA_IMAGE} ...`);
  if (dockerOk(['pull', '-q', OFFICIAL_PRAVEGA_IMAGE], 300_000)) {
    log(`pulled ${OFFICIAL_PRAVEGA_IMAGE}`);
    return {
      image: OFFICIAL_PRAVEGA_IMAGE,
      source: 'official',
      seconds: (Date.now() - started) / 1000,
    };
  }
  log(`${OFFICIAL_PRAVEGA_IMAGE} cannot be pulled here; building ${LOCAL_PRAVEGA_IMAGE} instead`);
  return buildLocalImage(log);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const force = process.argv.includes('--force');
    const local = force || process.argv.includes('--local');
    const result = local
      ? buildLocalImage(console.log, { force })
      : ensurePravegaImage(console.log);
    console.log(result.image);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
