// Mutation testing of the modules whose correctness matters most: the point-in-time join, the embedded online store's
// newer-wins writes, token checks and PII masking. Not part of `npm test` (it reruns tests per mutant):
// `npm run test:mutation`, report in reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  // Where the module holds more than that logic, only the lines of the logic: file handling around it is covered by
  // the slower end-to-end tests.
  mutate: [
    'feature-subgraph/offline/historical.ts:76-135',
    'feature-subgraph/online/sqlite.ts',
    'platform/auth.ts',
    'governance/masking.ts',
  ],
  // Each mutant runs only the tests that reach it: the point-in-time join's 12 s, a token's 20 ms.
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // TypeScript 7 has no compiler API for Stryker to rewrite tsconfig.json with; tests run through vitest, which needs
  // none.
  tsconfigFile: 'tsconfig.stryker-unused.json',
  thresholds: { high: 80, low: 60, break: 50 },
};
