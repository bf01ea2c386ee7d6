import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests that guard the mutated modules (stryker.config.mjs): the point-in-time oracle and the masking properties.
 */
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['feature-subgraph/test/point-in-time.test.ts', 'governance/test/masking.test.ts'] },
});
