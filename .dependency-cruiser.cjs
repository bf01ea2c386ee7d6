// The house's floors, checked in `npm test` (test/architecture.test.ts) and drawn in docs/architecture.md.
// A folder imports only folders below it, across folders only their public module (`index.ts`), and never in a circle.
// A layer's tests stand on its floor: they may reach its internals and those of the floors below, never a floor above.
/** Bottom to top. docs/architecture.md lists the same order; the architecture test holds the two together. */
const LAYERS = [
  'platform',
  'products',
  'governance',
  'jobs',
  'feature-subgraph',
  'lineage',
  'observability',
  'gateway',
  'console',
  'cli',
];
/** Not product code: tests and their helpers (held to their floor by the rules below), benches, build configuration. */
const NOT_PRODUCT = [
  '(^|/)test/',
  '^bench/',
  '\\.test\\.ts$',
  '(^|/)vite\\.config\\.ts$',
  '^vitest\\.config\\.ts$',
  '^types/',
];
const below = (i) => LAYERS.slice(0, i);
/** A layer's tests and test helpers: `<layer>/test/`. The repository's own `test/` is the end-to-end suite, on top. */
const TESTS_OF = (layer) => `^${layer}/test/`;
const FOLDERS = `^(${[...LAYERS, 'subgraphs'].join('|')})/`;

module.exports = {
  forbidden: [
    ...LAYERS.map((layer, i) => ({
      name: `${layer}-looks-down-only`,
      comment: `${layer}/ may import only ${below(i).join(', ') || 'no other folder of the project'}`,
      severity: 'error',
      from: { path: `^${layer}/`, pathNot: NOT_PRODUCT },
      to: { path: FOLDERS, pathNot: `^(${[layer, ...below(i)].join('|')})/` },
    })),
    ...LAYERS.map((layer, i) => ({
      name: `${layer}-tests-look-down-only`,
      comment: `${layer}/test/ may import ${layer}/ and the floors below it (internals and test helpers included)`,
      severity: 'error',
      from: { path: TESTS_OF(layer) },
      to: { path: FOLDERS, pathNot: `^(${[layer, ...below(i)].join('|')})/` },
    })),
    {
      name: 'product-code-imports-no-test',
      comment: 'test helpers are for tests: product code never imports one',
      severity: 'error',
      from: { path: FOLDERS, pathNot: NOT_PRODUCT },
      to: { path: '(^|/)test/' },
    },
    {
      name: 'public-module-only',
      comment: "across folders, import a layer's public module (<layer>/index.ts); its other files are internal",
      severity: 'error',
      from: { path: '^([^/]+)/', pathNot: NOT_PRODUCT },
      to: { path: `^(${LAYERS.join('|')})/.+\\.ts$`, pathNot: ['^$1/', `^(${LAYERS.join('|')})/index\\.ts$`] },
    },
    {
      name: 'domains-use-the-toolkits',
      comment:
        'a domain folder imports only its own files and the toolkits: products/index.ts (subgraph) and ' +
        'feature-subgraph/index.ts (features)',
      severity: 'error',
      from: { path: '^subgraphs/([^/]+)/', pathNot: NOT_PRODUCT },
      to: { path: FOLDERS, pathNot: ['^subgraphs/$1/', '^products/index\\.ts$', '^feature-subgraph/index\\.ts$'] },
    },
    {
      name: 'nothing-imports-a-domain',
      comment: 'the platform discovers domain folders at run time; no code names one',
      severity: 'error',
      from: { path: '^(?!subgraphs/)', pathNot: NOT_PRODUCT },
      to: { path: '^subgraphs/' },
    },
    {
      name: 'no-circular',
      comment: 'modules never import each other in a circle (type-only imports included)',
      severity: 'error',
      from: { pathNot: NOT_PRODUCT },
      to: { circular: true },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser; swc parses TypeScript instead.
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '\\.mesh', '(^|/)dist/', '\\.domains-'] },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
