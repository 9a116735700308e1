import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LOCAL_PRAVEGA_IMAGE, OFFICIAL_PRAVEGA_IMAGE } from './src/testing/pravega-image.js';

// the package's own entry points, as a user's test imports them (the README's example is a test)
const packageAliases = {
  'tributary/testing': fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
  tributary: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

// The README's PravegaContainer example is a test as a user writes it (no skip logic of its own):
// it runs where a container engine answers and holds a Pravega image, and is left out otherwise.
const README_CONTAINER_EXAMPLE = 'test/integration/testing/readme-example.test.ts';
function pravegaImagePresent(): boolean {
  if (process.env['TRIBUTARY_PRAVEGA_RUNTIME'] === 'jvm') return false;
  const images = [
    process.env['TRIBUTARY_PRAVEGA_IMAGE'],
    OFFICIAL_PRAVEGA_IMAGE,
    LOCAL_PRAVEGA_IMAGE,
  ].filter((i): i is string => i !== undefined && i !== '');
  return images.some(
    (image) =>
      spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore', timeout: 15_000 })
        .status === 0,
  );
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
          testTimeout: 120_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias: packageAliases },
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: pravegaImagePresent() ? [] : [README_CONTAINER_EXAMPLE],
          globalSetup: ['test/support/global-setup.ts'],
          pool: 'forks',
          testTimeout: 180_000,
          hookTimeout: 240_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
