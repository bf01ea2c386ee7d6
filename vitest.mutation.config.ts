import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests that guard the mutated modules (stryker.config.mjs). None serves the console: without its build, which
 * Stryker's runner would redo for every mutant (~10 s), masking's 75 mutants take ~1 min instead of ~12.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    globalSetup: [],
    include: [
      'feature-subgraph/test/point-in-time.test.ts',
      'feature-subgraph/test/ttl.test.ts',
      'feature-subgraph/test/feature-values.test.ts',
      'feature-subgraph/test/online-store.test.ts',
      'platform/test/auth.test.ts',
      'governance/test/masking.test.ts',
    ],
  },
});
