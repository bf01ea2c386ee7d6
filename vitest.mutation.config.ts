import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests that guard the mutated modules (stryker.config.mjs): the point-in-time oracle, the one-second TTL rule,
 * the online stores' contract, token checks and the masking properties. None serves the console, so its build is left
 * out of the setup.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    globalSetup: [],
    include: [
      'feature-subgraph/test/point-in-time.test.ts',
      'feature-subgraph/test/ttl.test.ts',
      'feature-subgraph/test/online-store.test.ts',
      'platform/test/auth.test.ts',
      'governance/test/masking.test.ts',
    ],
  },
});
