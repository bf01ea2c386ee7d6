import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlDatabase, runEvent, type RunEvent } from '../../platform/index.js';
import { createLogger } from '../../platform/log.js';
import { tempDir } from '../../platform/test/helpers.js';
import { privatePostgres, type TestPostgres } from '../../platform/test/postgres.js';
import { SqliteLineageGraph, type LineageGraph } from '../graph.js';
import { PostgresLineageGraph } from '../postgresGraph.js';

const log = createLogger({ level: 'silent', format: 'json', file: '' });
const NS = 's3://mesh';
let postgres: TestPostgres | undefined;
const graphs: LineageGraph[] = [];

beforeAll(async () => {
  postgres = await privatePostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(graphs.map((g) => g.close().catch(() => {})));
  await postgres?.close();
});

const field = (name: string, f: string, masking = false) => ({
  namespace: NS,
  name,
  field: f,
  transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', ...(masking ? { masking: true } : {}) }],
});

/** A pipeline from raw to curated, and a gateway operation reading the curated email (masked) and id. */
function events(client: string, role: string, count: number): RunEvent[] {
  const pipeline = runEvent({
    eventType: 'COMPLETE',
    job: { namespace: 'mesh', name: 'pipeline.sales' },
    inputs: [{ namespace: NS, name: 'sales/raw/crm' }],
    outputs: [
      {
        namespace: NS,
        name: 'sales.customers',
        facets: {
          columnLineage: {
            fields: {
              email: { inputFields: [field('sales/raw/crm', 'mail', true)] },
              id: { inputFields: [field('sales/raw/crm', 'customer_id')] },
            },
          },
        },
      } as never,
    ],
  });
  const operation = runEvent({
    eventType: 'COMPLETE',
    job: { namespace: 'mesh', name: 'gateway.CustomerOverview' },
    runFacets: { mesh_operationStats: { count, client, role } as never },
    outputs: [
      {
        namespace: 'mesh',
        name: 'gateway.CustomerOverview.response',
        facets: {
          columnLineage: {
            fields: {
              'customer.email': { inputFields: [field('sales.customers', 'email', role !== 'admin')] },
              'customer.id': { inputFields: [field('sales.customers', 'id')] },
            },
          },
        },
      } as never,
    ],
  });
  return [pipeline, operation];
}

async function answers(g: LineageGraph) {
  const sortEdges = (edges: Awaited<ReturnType<LineageGraph['edges']>>) =>
    edges
      .map((e) => ({ ...e, lastSeen: undefined }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return {
    up: await g.upstream('gateway.CustomerOverview.response', 'customer.email'),
    down: await g.downstream('sales/raw/crm'),
    readers: (await g.readers('sales.customers', 'email')).map((r) => ({ ...r, lastSeen: undefined })),
    neighbourhood: sortEdges((await g.neighbourhood('sales.customers', undefined)).edges),
    edges: sortEdges(await g.edges()),
    jobs: (await g.jobs()).map((j) => ({ ...j, lastTime: undefined })),
  };
}

describe('lineage graph backends', () => {
  it('answer the same from the same events, embedded and in PostgreSQL', async (t) => {
    if (!postgres) return t.skip();
    const sqlite = new SqliteLineageGraph(path.join(tempDir(), 'lineage.sqlite'));
    const pg = new PostgresLineageGraph(new ControlDatabase(await postgres.database(), log));
    graphs.push(sqlite, pg);
    for (const g of [sqlite, pg]) {
      await g.send(events('storefront', 'analyst', 3));
      await g.send(events('ops-app', 'admin', 2));
    }
    const [a, b] = [await answers(sqlite), await answers(pg)];
    expect(b).toEqual(a);
    expect(a.readers).toEqual([
      {
        operation: 'gateway.CustomerOverview',
        client: 'storefront',
        role: 'analyst',
        masked: true,
        count: 3,
        lastSeen: undefined,
      },
      {
        operation: 'gateway.CustomerOverview',
        client: 'ops-app',
        role: 'admin',
        masked: false,
        count: 2,
        lastSeen: undefined,
      },
    ]);
    expect(a.up.map((n) => `${n.depth} ${n.name}.${n.field}`)).toEqual([
      '1 sales.customers.email',
      '2 sales/raw/crm.mail',
    ]);
    expect(a.jobs.map((j) => [j.job, j.runs])).toEqual([
      ['gateway.CustomerOverview', 2],
      ['pipeline.sales', 2],
    ]);
  });

  it('counts every operation of three gateways writing at once to the shared graph', async (t) => {
    if (!postgres) return t.skip();
    const url = await postgres.database();
    const gateways = [1, 2, 3].map(() => new PostgresLineageGraph(new ControlDatabase(url, log)));
    graphs.push(...gateways);
    // 3 gateways × 40 flushes, each of 1 to 3 operations of two clients.
    await Promise.all(
      gateways.map(async (g, i) => {
        for (let n = 0; n < 40; n++)
          await g.send(events(n % 2 ? 'storefront' : 'ops-app', 'analyst', 1 + ((n + i) % 3)));
      }),
    );
    const expected = [0, 1, 2].reduce(
      (sum, i) => sum + Array.from({ length: 40 }, (_, n) => 1 + ((n + i) % 3)).reduce((x, y) => x + y),
      0,
    );
    const readers = await gateways[0]!.readers('sales.customers', 'email');
    expect(readers.reduce((sum, r) => sum + r.count, 0)).toBe(expected);
    expect(new Set(readers.map((r) => r.client))).toEqual(new Set(['storefront', 'ops-app']));
    expect((await gateways[2]!.jobs()).find((j) => j.job === 'gateway.CustomerOverview')?.runs).toBe(120);
  });
});
