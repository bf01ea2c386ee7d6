// Observability's public module: SLOs from contracts (rules, dashboards, continuous evaluation) and cost allocation.
export { DEFAULT_PRICES, costAllocation, type CostReport } from './cost.js';
export { observeMesh, type MeshObservation } from './observe.js';
export { grafanaDashboard, loadSlos, prometheusConfig, prometheusRules } from './slo.js';
export { type DomainSloStatus, type SloPoint } from './sloStatus.js';
