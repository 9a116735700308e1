import { TributaryError, errorMessage } from '../../src/errors.js';
import { ensureRegistryJars } from './jars.js';

/** `npm run registry:fetch`: downloads the schema registry's jars (once) and says where they are. */
try {
  const started = Date.now();
  const install = ensureRegistryJars({ log: (line) => console.log(line) });
  console.log(
    `schema registry: ${install.classpath.split(':').length} jars in ${install.cacheDir} (Java ${install.javaMajor}), ` +
      (install.downloadSeconds !== undefined
        ? 'downloaded now'
        : `already cached (checked in ${Date.now() - started} ms)`),
  );
} catch (err) {
  console.error(TributaryError.is(err) ? err.message : errorMessage(err));
  process.exit(1);
}
