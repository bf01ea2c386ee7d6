/**
 * Log-structured, tiered merging: the first `fanout` items of one size tier (sizes within a factor of `fanout` of each
 * other), undefined when no tier holds that many. Merging them while any tier does keeps items few (under `fanout` per
 * tier, so logarithmic in the total) and rewrites each row a bounded number of times.
 */
export function mergeableTier<T>(items: T[], size: (item: T) => number, fanout: number): T[] | undefined {
  const tiers = new Map<number, T[]>();
  for (const item of items) {
    const tier = tierOf(size(item), fanout);
    const same = [...(tiers.get(tier) ?? []), item];
    if (same.length === fanout) return same;
    tiers.set(tier, same);
  }
  return undefined;
}

/** Sizes within a factor of `fanout` of each other share a tier. */
export const tierOf = (size: number, fanout: number) => Math.floor(Math.log(Math.max(size, 1)) / Math.log(fanout));
