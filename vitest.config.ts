import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One graphql instance: Apollo's CommonJS packages require graphql/index.js, so ESM imports must resolve there too.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '.mesh/**'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
