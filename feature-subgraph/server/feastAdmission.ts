import {
  CostBudgets,
  ErrorCode,
  HeavyPool,
  isMeshError,
  MeshError,
  type Identity,
  type MeshConfig,
  type Metrics,
} from '../../platform/index.js';

/** Values one budget point buys: a read of 50,000 values (the most one request may ask) costs 1,000 points. */
export const VALUES_PER_POINT = 50;

/**
 * Admission of Feast reads by size, per caller: the values asked for (entity rows x features) cost points from the
 * caller's budget, refused with THROTTLED (429, Retry-After) when it is spent; reads costing the heavy cost or more
 * (15,000 values at the default 300 points) wait for a slot of the heavy pool. The same settings as the gateway's.
 */
export class FeastAdmission {
  private readonly budgets?: CostBudgets;
  private readonly pool: HeavyPool;

  private readonly heavyCost: number;

  constructor(
    limits: MeshConfig['admission'],
    private readonly metrics: Metrics,
  ) {
    this.heavyCost = limits.heavyCost;
    this.budgets = limits.capacity > 0 ? new CostBudgets(limits.capacity, limits.refillPerSecond) : undefined;
    this.pool = new HeavyPool(limits.heavyConcurrency, limits.heavyWaitMs);
    metrics.observeHeavyPool(() => this.pool.load());
  }

  /** `work` once the caller's budget pays for `values` values, holding a heavy-pool slot when they are many. */
  async run<T>(identity: Identity, values: number, work: (heavy: boolean) => Promise<T>): Promise<T> {
    const release = await this.admit(identity, values);
    try {
      return await work(this.isHeavy(values));
    } finally {
      release();
    }
  }

  isHeavy(values: number): boolean {
    return Math.ceil(values / VALUES_PER_POINT) >= this.heavyCost;
  }

  /** A read of `values` values admitted: the function returned ends it (frees its heavy-pool slot). */
  async admit(identity: Identity, values: number): Promise<() => void> {
    const cost = Math.ceil(values / VALUES_PER_POINT);
    const taken = this.budgets?.take(identity.sub || `role:${identity.role}`, cost);
    if (this.budgets && taken && !taken.ok) {
      this.metrics.throttled.inc({ reason: 'budget' });
      throw new MeshError(
        ErrorCode.THROTTLED,
        `over budget: ${values} values cost ${cost} points and ${taken.remaining} are left, refilling ` +
          `${this.budgets.refillPerSecond} a second: retry in ${taken.retryAfterSeconds} s`,
        {
          retryAfterSeconds: taken.retryAfterSeconds,
          cost: {
            requestedQueryCost: cost,
            throttleStatus: {
              maximumAvailable: this.budgets.capacity,
              currentlyAvailable: taken.remaining,
              restoreRate: this.budgets.refillPerSecond,
            },
          },
        },
      );
    }
    if (!this.isHeavy(values)) return () => {};
    try {
      return await this.pool.acquire();
    } catch (err) {
      if (isMeshError(err, ErrorCode.THROTTLED)) this.metrics.throttled.inc({ reason: 'pool' });
      throw err;
    }
  }
}
