import { listDomains, type Platform } from '../../platform/index.js';
import { generateMarketplace } from '../generate/index.js';
import { runDomainPipeline } from '../pipeline/run.js';

/** Small, fast generator settings for tests. */
export const SMALL = { scale: 0.25, seed: 7, days: 35, end: '2026-11-01T00:00:00.000Z' } as const;

/** `platform` with SMALL data generated and curated by every domain's pipeline. */
export async function curate<P extends Platform>(platform: P): Promise<P> {
  await generateMarketplace(platform.store, SMALL);
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  return platform;
}
