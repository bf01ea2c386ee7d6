import type { ObjectStore } from '../../platform/index.js';
import { FEATURE_REGISTRY_KEY } from '../../products/index.js';
import { loadRegistry, type Registry } from '../registry.js';

/** The registry as servers see it: re-read when its object changes, checked at most once per interval. */
export class RegistryCache {
  private registry?: Registry;
  private etag?: string;
  private checkedAt = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly intervalMs = 1000,
  ) {}

  async get(): Promise<Registry> {
    if (this.registry && Date.now() - this.checkedAt < this.intervalMs) return this.registry;
    const head = await this.store.head(FEATURE_REGISTRY_KEY);
    this.checkedAt = Date.now();
    if (!this.registry || head?.etag !== this.etag) {
      this.registry = await loadRegistry(this.store);
      this.etag = head?.etag;
    }
    return this.registry;
  }
}
