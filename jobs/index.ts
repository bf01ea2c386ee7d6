// Jobs: the source generator and the domain pipeline engine.
export { generateMarketplace, DEFAULT_GENERATE, GENERATED_DOMAINS, type GenerateOptions, type GenerateReport } from './generate/index.js';
export { runDomainPipeline, recentRuns, currentManifest, curatedDatasetPath } from './pipeline/run.js';
export type { RunRecord, CuratedManifest, DatasetOutput, SourceAccounting } from './pipeline/types.js';
