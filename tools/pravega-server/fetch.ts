import { TributaryError, errorMessage } from '../../src/errors.js';
import { ensurePravegaJars } from './jars.js';

/** `npm run pravega:fetch`: downloads the Pravega server jars (once) and says where they are. */
try {
  const started = Date.now();
  const install = ensurePravegaJars({ log: (line) => console.log(line) });
  const jars = install.classpath.split(':').length;
  console.log(
    `Pravega server: ${jars} jars in ${install.cacheDir} (Java ${install.javaMajor}), ` +
      (install.download
        ? 'downloaded now'
        : `already cached (checked in ${Date.now() - started} ms)`),
  );
} catch (err) {
  console.error(TributaryError.is(err) ? err.message : errorMessage(err));
  process.exit(1);
}
