import { listDomains, platformAs, type Platform } from '../platform/index.js';
import { featureStoreWritePrefixes } from '../governance/index.js';

/** `platform` as the feature store's storage role: its credentials, and writes only where that role may write. */
export function asFeatureStore<P extends Platform>(platform: P): P {
  const domains = listDomains(platform.config.domainsDir).map((d) => d.name);
  return platformAs(platform, 'feature-store', featureStoreWritePrefixes(domains));
}
