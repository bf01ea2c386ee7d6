import { Gauge } from 'prom-client';
import type { Metrics } from '../platform/index.js';
import type { DomainSloStatus } from './sloStatus.js';
import type { CostReport } from './cost.js';

/** The continuously evaluated SLO state and error budget of each data product, read at scrape time. */
export function observeSlo(metrics: Metrics, status: () => DomainSloStatus[]): void {
  new Gauge({
    name: 'mesh_slo_state',
    help: 'SLO state of each data product (1 for the current state: OK, AT_RISK, BREACHED, NO_DATA)',
    labelNames: ['domain', 'data_product', 'state'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of status())
        for (const state of ['OK', 'AT_RISK', 'BREACHED', 'NO_DATA'])
          this.set({ domain: s.domain, data_product: s.dataProduct, state }, s.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mesh_slo_error_budget_remaining_ratio',
    help: 'Share of the availability error budget left over the evaluation window (negative: overspent)',
    labelNames: ['domain', 'data_product'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of status())
        if (s.availability.budgetRemaining !== null)
          this.set({ domain: s.domain, data_product: s.dataProduct }, s.availability.budgetRemaining);
    },
  });
}

/** Cost allocation per domain (the last computed report, refreshed in the background), read at scrape time. */
export function observeCost(metrics: Metrics, report: () => CostReport | undefined): void {
  new Gauge({
    name: 'mesh_cost_dollars',
    help: 'Allocated cost per domain and item over the cost window (storage and online: per month at current size)',
    labelNames: ['domain', 'item'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const d of report()?.domains ?? [])
        for (const [item, v] of Object.entries(d.cost)) this.set({ domain: d.domain, item }, v);
    },
  });
  new Gauge({
    name: 'mesh_storage_bytes',
    help: 'Object store bytes per domain and layer',
    labelNames: ['domain', 'layer'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const d of report()?.domains ?? [])
        for (const [layer, v] of Object.entries(d.storageBytes)) this.set({ domain: d.domain, layer }, v);
    },
  });
  new Gauge({
    name: 'mesh_online_store_keys',
    help: "Keys of each domain's feature views in the online store",
    labelNames: ['domain'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const d of report()?.domains ?? []) this.set({ domain: d.domain }, d.onlineKeys);
    },
  });
}
