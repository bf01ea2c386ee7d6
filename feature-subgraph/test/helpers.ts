import type { Platform } from '../../platform/index.js';
import { testPlatform, type RecordingLineage } from '../../platform/test/helpers.js';
import { curate } from '../../jobs/test/helpers.js';
import { applyFeatures, computeFeatures } from '../featureStore.js';

/** `platform` with SMALL data curated by every pipeline, and every feature view applied and computed. */
export async function withFeatures<P extends Platform>(platform: P): Promise<P> {
  await curate(platform);
  await applyFeatures(platform);
  await computeFeatures(platform);
  return platform;
}

/** A test platform (lineage recorded in memory) with SMALL data curated and every feature view computed. */
export function platformWithFeatures(env: Record<string, string> = {}): Promise<Platform<RecordingLineage>> {
  return withFeatures(testPlatform(env));
}
