// The house's floors, checked in `npm test` (platform/test/architecture.test.ts) and drawn in docs/architecture.md.
// A folder imports only folders below it, across folders only their public module (`index.ts`), and never in a circle.
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
/** Tests, benches and test helpers may reach anything: they assemble whole meshes. */
const NOT_PRODUCT = [
  '(^|/)test/',
  '^bench/',
  '\\.test\\.ts$',
  '(^|/)vite\\.config\\.ts$',
  '^vitest\\.config\\.ts$',
  '^types/',
];
const below = (i) => LAYERS.slice(0, i);
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
