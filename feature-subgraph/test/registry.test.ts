import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { isMeshError } from '../../platform/errors.js';
import { loadDefinitions, type LoadedDefinitions, type LoadedView } from '../definitions.js';
import {
  emptyRegistry,
  findService,
  loadRegistry,
  plan,
  resolveFeatures,
  updateRegistry,
  type Registry,
} from '../registry.js';
import { featureSubgraphSdl } from '../server/subgraphSchema.js';
import type { ControlPlane } from '../../platform/control/index.js';
import type { Platform } from '../../platform/platform.js';
import { tempDir, testPlatform } from '../../platform/test/helpers.js';

const customer = {
  name: 'customer',
  joinKeys: ['customer_id'],
  domain: 'sales',
  graphql: { type: 'Customer', keyField: 'id' },
};
const view = (over: Partial<LoadedView> = {}): LoadedView => ({
  name: 'orders_stats',
  domain: 'sales',
  entities: ['customer'],
  joinKeys: ['customer_id'],
  ttl: '30d',
  ttlSeconds: 30 * 86400,
  owner: 'sales@x',
  description: 'd',
  features: [
    { name: 'n_orders', dtype: 'Int64' },
    { name: 'spend', dtype: 'Float64' },
  ],
  sql: 'SELECT 1',
  sqlFile: 'x.sql',
  ...over,
});
const defs = (views: LoadedView[], services: LoadedDefinitions['services'] = []): LoadedDefinitions => ({
  entities: [customer],
  views,
  services,
});
const apply = (r: Registry, d: LoadedDefinitions) => plan(r, d);

describe('feature registry versions', () => {
  it('creates v1, leaves an unchanged definition alone, updates metadata in place', () => {
    const first = apply(emptyRegistry(), defs([view()]));
    expect(first.changes.find((c) => c.kind === 'view')).toMatchObject({ action: 'create', to: 1 });
    const again = apply(first.next, defs([view()]));
    expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
    const meta = apply(first.next, defs([view({ description: 'better words', owner: 'new-owner@x' })]));
    expect(meta.changes.find((c) => c.kind === 'view')).toMatchObject({
      action: 'update',
      from: 1,
      to: 1,
      detail: 'metadata: owner, description',
    });
    expect(meta.next.views.orders_stats).toHaveLength(1);
    expect(meta.next.views.orders_stats![0]!.owner).toBe('new-owner@x');
  });

  it('a changed definition is a new version; the old one stays resolvable as view@v1:feature', () => {
    const v1 = apply(emptyRegistry(), defs([view()])).next;
    const { changes, next } = apply(
      v1,
      defs([
        view({
          features: [
            { name: 'n_orders', dtype: 'Int64' },
            { name: 'refunds', dtype: 'Float64' },
          ],
          ttlSeconds: 7 * 86400,
        }),
      ]),
    );
    expect(changes.find((c) => c.kind === 'view')).toMatchObject({
      action: 'new-version',
      from: 1,
      to: 2,
      detail: '+refunds; -spend; ttl 2592000s → 604800s',
    });
    expect(next.views.orders_stats!.map((v) => v.version)).toEqual([1, 2]);
    const current = resolveFeatures(next, { features: ['orders_stats:refunds'] });
    expect(current.views[0]!.view.version).toBe(2);
    const pinned = resolveFeatures(next, {
      features: ['orders_stats@v1:spend', 'orders_stats:n_orders'],
      fullFeatureNames: true,
    });
    expect(pinned.views.map((v) => v.view.version)).toEqual([1, 2]);
    expect(pinned.names).toEqual(['orders_stats_v1__spend', 'orders_stats__n_orders']);
    expect(() => resolveFeatures(next, { features: ['orders_stats:spend'] })).toThrow(/no feature "spend"/);
    expect(() => resolveFeatures(next, { features: ['orders_stats@v9:spend'] })).toThrow(
      /has no version 9 \(versions: 1, 2\)/,
    );
  });

  it('a feature service pins view versions and gets a new version when a view it uses changes', () => {
    const service = { name: 'churn', domain: 'sales', features: ['orders_stats:*'] };
    const r1 = apply(emptyRegistry(), defs([view()], [service])).next;
    expect(findService(r1, 'churn').features).toEqual(['orders_stats@v1:n_orders', 'orders_stats@v1:spend']);
    const r2 = apply(r1, defs([view({ sql: 'SELECT 2' })], [service]));
    expect(r2.changes.find((c) => c.kind === 'service')).toMatchObject({ action: 'new-version', from: 1, to: 2 });
    expect(findService(r2.next, 'churn').features).toEqual(['orders_stats@v2:n_orders', 'orders_stats@v2:spend']);
    expect(findService(r2.next, 'churn@v1').features).toEqual(['orders_stats@v1:n_orders', 'orders_stats@v1:spend']);
    expect(resolveFeatures(r2.next, { service: 'churn@v1' }).views[0]!.view.version).toBe(1);
  });

  it('a removed view is retired: no longer current, still resolvable by version', () => {
    const r1 = apply(emptyRegistry(), defs([view()])).next;
    const { changes, next } = apply(r1, defs([]));
    expect(changes).toContainEqual({ kind: 'view', name: 'orders_stats', action: 'retire', from: 1 });
    expect(() => resolveFeatures(next, { features: ['orders_stats:spend'] })).toThrow(/retired/);
    expect(resolveFeatures(next, { features: ['orders_stats@v1:spend'] }).views[0]!.view.version).toBe(1);
  });

  it('rejects ambiguous and malformed requests with named errors', () => {
    const r = apply(emptyRegistry(), defs([view(), view({ name: 'other_stats' })])).next;
    expect(() => resolveFeatures(r, { features: ['orders_stats:spend', 'other_stats:spend'] })).toThrow(
      /both called "spend"/,
    );
    expect(
      resolveFeatures(r, { features: ['orders_stats:spend', 'other_stats:spend'], fullFeatureNames: true }).names,
    ).toEqual(['orders_stats__spend', 'other_stats__spend']);
    expect(() => resolveFeatures(r, { features: ['orders_stats.spend'] })).toThrow(/must look like view:feature/);
    expect(() => resolveFeatures(r, { features: ['nope:x'] })).toThrow(/unknown feature view "nope"/);
    expect(() => resolveFeatures(r, {})).toThrow(/either features .* or a feature service/);
    let error: unknown;
    try {
      resolveFeatures(r, { service: 'missing' });
    } catch (err) {
      error = err;
    }
    expect(isMeshError(error, 'NOT_FOUND')).toBe(true);
  });
});

describe("the domains' feature definitions", () => {
  it('load and validate: every domain contributes, customers have features from three or more domains', async () => {
    const d = await loadDefinitions(listDomains(path.join(REPO_ROOT, 'subgraphs')));
    expect(new Set(d.views.map((v) => v.domain))).toEqual(
      new Set(['sales', 'fulfillment', 'catalog', 'campaigns', 'payments']),
    );
    const customerDomains = new Set(d.views.filter((v) => v.entities.includes('customer')).map((v) => v.domain));
    expect(customerDomains.size).toBeGreaterThanOrEqual(3);
    const { next } = plan(emptyRegistry(), d);
    expect(
      new Set(resolveFeatures(next, { service: 'customer_repurchase' }).views.map((v) => v.view.domain)).size,
    ).toBeGreaterThanOrEqual(3);
  });

  it('feature-subgraph/schema.graphql (used by supergraph.yaml) is what the definitions generate', async () => {
    const { next } = plan(emptyRegistry(), await loadDefinitions(listDomains(path.join(REPO_ROOT, 'subgraphs'))));
    expect(fs.readFileSync(path.join(REPO_ROOT, 'feature-subgraph', 'schema.graphql'), 'utf8')).toBe(
      featureSubgraphSdl(next),
    );
  });

  it('a bad definition in a domain folder fails loading with the view and the problem named', async () => {
    let dir = '';
    // A fresh folder each time: ES modules are cached by path.
    const write = (domain: string, body: string) => {
      dir = tempDir();
      fs.mkdirSync(path.join(dir, domain, 'features'), { recursive: true });
      fs.writeFileSync(path.join(dir, domain, 'contract.odcs.yaml'), 'x: 1\n');
      fs.writeFileSync(path.join(dir, domain, 'features', 'v.sql'), 'SELECT 1');
      fs.writeFileSync(path.join(dir, domain, 'features.ts'), `export default ${body};\n`);
    };
    const viewDef = (over: string) =>
      `{ views: [{ name: 'v', entities: ['customer'], ttl: '30d', owner: 'o', description: 'd', sql: ` +
      `'features/v.sql', features: [{ name: 'f', dtype: 'Int64' }], ${over} }] }`;
    write('shop', viewDef(''));
    await expect(loadDefinitions(listDomains(dir))).rejects.toThrow(
      'feature view v (shop): unknown entity "customer" (known: none)',
    );
    write(
      'shop',
      viewDef(`ttl: '30 days'`).replace(
        '{ views',
        `{ entities: [{ name: 'customer', joinKeys: ['customer_id'] }], views`,
      ),
    );
    await expect(loadDefinitions(listDomains(dir))).rejects.toThrow(
      'feature view v: ttl "30 days" must look like 30d, 12h, 15m, 90s or 0',
    );
    write(
      'shop',
      viewDef(`features: [{ name: 'f', dtype: 'Decimal' }]`).replace(
        '{ views',
        `{ entities: [{ name: 'customer', joinKeys: ['customer_id'] }], views`,
      ),
    );
    await expect(loadDefinitions(listDomains(dir))).rejects.toThrow(
      'feature view v (shop): feature "f" has type "Decimal" (one of Int64, Float64, String, Bool)',
    );
  });

  it('a feature service naming a missing feature is refused at plan time', async () => {
    const { next } = plan(emptyRegistry(), defs([view()]));
    expect(() =>
      plan(next, { ...defs([view()]), services: [{ name: 's', domain: 'sales', features: ['orders_stats:nope'] }] }),
    ).toThrow(/feature service s: view orders_stats@v1 has no feature "nope"/);
  });
});

describe('the registry written by two machines at once', () => {
  /** A second machine on the same store and control plane, whose commit waits until `go` (the other writes first). */
  function heldMachine(dataDir: string) {
    const machine = testPlatform({ MESH_DATA_DIR: dataDir });
    let go!: () => void;
    let arrived!: () => void;
    const released = new Promise<void>((r) => {
      go = r;
    });
    const atCommit = new Promise<void>((r) => {
      arrived = r;
    });
    const control: ControlPlane = Object.create(machine.control, {
      commit: {
        value: async (writes: Parameters<ControlPlane['commit']>[0]) => {
          arrived();
          await released;
          return machine.control.commit(writes);
        },
      },
    });
    return { platform: Object.create(machine, { control: { value: control } }) as Platform, atCommit, go };
  }

  it('two applies: one wins, the other is refused with CONFLICT naming the revision it lost to', async () => {
    const dataDir = tempDir();
    const first = testPlatform({ MESH_DATA_DIR: dataDir });
    await updateRegistry(first, (r) => apply(r, defs([view()])).next, { definitions: true });
    const held = heldMachine(dataDir);
    const losing = updateRegistry(held.platform, (r) => apply(r, defs([view({ sql: 'SELECT 2' })])).next, {
      definitions: true,
    }).catch((e: unknown) => e);
    await held.atCommit;
    await updateRegistry(first, (r) => apply(r, defs([view({ description: 'won' })])).next, { definitions: true });
    held.go();
    const err = await losing;
    expect(isMeshError(err, 'CONFLICT'), String(err)).toBe(true);
    expect((err as { details: { lostTo: { revision: number } } }).details.lostTo.revision).toBe(2);
    expect((err as Error).message).toMatch(/another apply won \(registry revision 2, .*\)\. Run it again/);
    // Nothing of the loser landed; the winner's change is where readers look.
    const registry = await loadRegistry(first.store);
    expect(registry.views.orders_stats!.map((v) => [v.version, v.description, v.sql])).toEqual([
      [1, 'won', 'SELECT 1'],
    ]);
  });

  it('an apply and a materialization at once both land: the watermark is written again on the new head', async () => {
    const dataDir = tempDir();
    const first = testPlatform({ MESH_DATA_DIR: dataDir });
    await updateRegistry(first, (r) => apply(r, defs([view()])).next, { definitions: true });
    const held = heldMachine(dataDir);
    const watermark = updateRegistry(held.platform, (r) => {
      r.materialization.redis = { 'orders_stats@v1': { watermark: '2026-11-01T00:00:00.000Z' } } as never;
      return r;
    });
    await held.atCommit;
    await updateRegistry(first, (r) => apply(r, defs([view({ description: 'applied' })])).next, { definitions: true });
    held.go();
    await watermark;
    const registry = await loadRegistry(first.store);
    expect(registry.views.orders_stats![0]!.description).toBe('applied');
    expect(registry.materialization.redis?.['orders_stats@v1']?.watermark).toBe('2026-11-01T00:00:00.000Z');
  });
});
