import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// the package's own entry points, as a user's test imports them (the README's example is a test)
const packageAliases = {
  'tributary/testing': fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
  tributary: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

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
