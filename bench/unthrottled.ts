/**
 * Budgets no benchmark can spend: a benchmark sends everything with one token, and measures speed, not admission
 * control (bench/contention.ts measures that). Costs are still estimated and taken, and the heavy pool still applies.
 */
export const UNTHROTTLED = { MESH_COST_BUDGET: '1000000000000', MESH_COST_REFILL_PER_SECOND: '1000000000000' };
