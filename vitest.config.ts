import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One graphql instance: Apollo's CommonJS packages require graphql/index.js, so ESM imports must resolve there too.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['**/test/**/*.test.ts'],
    // Copies of the tests (Stryker's sandboxes, a killed scaffold test's domains) are not tests of this tree.
    exclude: ['**/node_modules/**', '.mesh/**', '.stryker-tmp/**', '.domains-*/**'],
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
