import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { bearer, freePort, gql, hasPrometheus, tempDir } from '../../platform/test/helpers.js';
import { curate } from '../../jobs/test/helpers.js';
import { loadSlos, prometheusConfig, prometheusRules } from '../../observability/index.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';
import { startMesh } from '../inProcessMesh.js';

// Customers with orders, their items, shipments, payments and campaigns: every domain's subgraph is fetched.
const EVERY_DOMAIN =
  '{ customers(first: 30) { edges { node { id orders(first: 2) { items { product { name } } shipments { carrier } ' +
  'payments { method } attributedCampaign { name } } campaignTouches(first: 1) { converted } } } } }';

const slos = loadSlos(listDomains(path.join(REPO_ROOT, 'subgraphs')));

describe('a real Prometheus scraping a running mesh', () => {
  it('answers a freshness and an availability query per domain', async (ctx) => {
    if (!hasPrometheus()) return ctx.skip();
    // No response cache: Prometheus must see the subgraph fetches the repeated queries make.
    // Data time a month after SMALL's extraction (2026-11-01): every product is past its freshness SLO.
    const platform = await curate(
      testMeshPlatform({ MESH_RESPONSE_CACHE_ENTRIES: '0', MESH_NOW: '2026-12-01T00:00:00.000Z' }),
    );
    const mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
    const dir = tempDir();
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'rules.yml'), stringify(prometheusRules(slos)));
    const targets = [
      { job: 'mesh-gateway', targets: [new URL(mesh.gateway.url).host] },
      { job: 'mesh-subgraphs', targets: mesh.subgraphs.map((s) => new URL(s.url).host) },
    ];
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify(prometheusConfig(targets, 'rules.yml', '1s')));
    const prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(
        () => undefined,
      );
      return res?.ok
        ? ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } })
            .data.result
        : [];
    };
    try {
      const auth = await bearer(platform, 'analyst');
      let fresh: Awaited<ReturnType<typeof query>> = [];
      let availability: Awaited<ReturnType<typeof query>> = [];
      for (let i = 0; i < 120 && (fresh.length < 5 || availability.length < 5); i++) {
        await gql(mesh.gateway.url, EVERY_DOMAIN, {}, auth);
        await new Promise((r) => setTimeout(r, 500));
        fresh = await query('mesh_data_product_age_seconds');
        availability = await query('1 - mesh:subgraph_fetch_errors:ratio_rate5m');
      }
      expect(new Set(fresh.map((r) => r.metric.domain)), log).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
      );
      // SMALL data was extracted at 2026-11-01: the age is on the data clock, in seconds.
      for (const r of fresh) expect(Number(r.value[1])).toBeGreaterThan(3600);
      expect(new Set(availability.map((r) => r.metric.subgraph))).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
      );
      for (const r of availability) expect(Number(r.value[1])).toBe(1);
      const alerts = await query('ALERTS{alertname="DataProductStale"}');
      expect(alerts.map((a) => a.metric.domain).length).toBeGreaterThan(0);
      // The gateway also exposes the pipelines' last runs (batch jobs end before any scrape), its own SLO evaluation
      // and the cost allocation.
      let accounted: Awaited<ReturnType<typeof query>> = [];
      let breached: Awaited<ReturnType<typeof query>> = [];
      let cost: Awaited<ReturnType<typeof query>> = [];
      for (let i = 0; i < 60 && (accounted.length < 5 || breached.length < 5 || cost.length < 6); i++) {
        accounted = await query(
          'sum by (domain) (mesh_pipeline_records{stage="in"}) - sum by (domain) ' +
            '(mesh_pipeline_records{stage=~"curated|quarantined|duplicate"})',
        );
        breached = await query('mesh_slo_state{state="BREACHED"} == 1');
        cost = await query('mesh_cost_dollars{item="total"}');
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(accounted.map((r) => [r.metric.domain, Number(r.value[1])]).sort(), log).toEqual(
        ['campaigns', 'catalog', 'fulfillment', 'payments', 'sales'].map((d) => [d, 0]),
      );
      // Stale data (a month old on the data clock) breaks every product's freshness SLO, in the gateway's own
      // evaluation too.
      expect(new Set(breached.map((r) => r.metric.domain))).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
      );
      expect(new Set(cost.map((r) => r.metric.domain))).toEqual(
        new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments', 'platform']),
      );
      for (const r of cost) expect(Number(r.value[1])).toBeGreaterThan(0);
    } finally {
      prometheus.kill('SIGTERM');
      await new Promise((r) => prometheus.once('exit', r));
      await mesh.close();
    }
  });
});
