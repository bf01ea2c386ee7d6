// Mutation testing of the modules whose correctness matters most: the point-in-time join and PII masking. Not part of
// `npm test` (it reruns the tests once per mutant): `npm run test:mutation`, report in reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  // The point-in-time join itself (the SQL it builds); file handling around it is covered by the slower end-to-end
  // tests.
  mutate: ['feature-subgraph/offline/historical.ts:34-58', 'governance/masking.ts'],
  // Every mutant runs both test files (a few seconds): per-test coverage instrumentation costs more than it saves here.
  coverageAnalysis: 'off',
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // TypeScript 7 has no compiler API for Stryker to rewrite tsconfig.json with; tests run through vitest, which needs
  // none.
  tsconfigFile: 'tsconfig.stryker-unused.json',
  thresholds: { high: 80, low: 60, break: 50 },
};
