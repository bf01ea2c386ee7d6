// Jobs' public module: the source generator and the domain pipeline engine.
export { DEFAULT_GENERATE, GENERATED_DOMAINS, generateMarketplace, type GenerateReport } from './generate/index.js';
export { runDomainPipeline } from './pipeline/run.js';
export { loadPipeline } from './pipeline/spec.js';
