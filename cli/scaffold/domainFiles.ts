/**
 * The files of a new domain: one events dataset keyed to customers, its contract (with one PII column), pipeline,
 * subgraph (extending Customer), a REST endpoint, a customer feature view, a changelog, a test, and sample raw data to
 * run on at once.
 */
export function domainFiles(name: string, owner: string): Record<string, string> {
  const type = `${name[0]!.toUpperCase()}${name.slice(1)}Event`;
  const dataset = `${name}_events`;
  const field = `${name}Events`;
  const pkg = { name: `@mesh/${name}`, version: '0.1.0', private: true, type: 'module', description: `${name} domain` };
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'CHANGELOG.md': `# ${name} subgraph

## 0.1.0
- \`${type}\`, \`Query.${name}Event\`, \`Customer.${field}\` over the curated \`${dataset}\` dataset.
`,
    'contract.odcs.yaml': `apiVersion: v3.1.0
kind: DataContract
id: urn:mesh:contract:${name}
name: ${name}
version: 0.1.0
status: draft
domain: ${name}
dataProduct: ${name}
description:
  purpose: Events of the ${name} domain, one row per event, keyed to the customer.
  usage: Analytics through the graph and customer features.
team:
  name: ${owner}
  members:
    - { username: ${owner}, role: Owner }
slaProperties:
  - { property: freshness, value: 24, unit: h, element: ${dataset}.occurred_at }
  - { property: latency, value: 300, unit: ms, driver: analytics }
  - { property: availability, value: 99, unit: percent }
schema:
  - name: ${dataset}
    physicalType: table
    properties:
      - name: event_id
        logicalType: string
        primaryKey: true
        primaryKeyPosition: 1
        required: true
        classification: internal
      - { name: customer_id, logicalType: string, required: true, classification: internal }
      - { name: occurred_at, logicalType: timestamp, required: true, classification: internal }
      - { name: kind, logicalType: string, required: true, classification: internal }
      - { name: amount, logicalType: number, physicalType: "DECIMAL(12,2)", classification: internal }
      - name: contact_email
        logicalType: string
        classification: restricted
        customProperties: [{ property: piiKind, value: email }]
`,
    'pipeline.yaml': `sources:
  events:
    format: jsonl
    columns: [event_id, customer_id, occurred_at, kind, amount, contact_email]
    prefix: raw/events/
    stage: pipeline/stage_events.sql
    key: [event_id]
    eventTime: occurred_at
datasets:
  - name: ${dataset}
    sql: pipeline/${dataset}.sql
    by: event_id
    partitionBy: "strftime(occurred_at, '%Y-%m')"
`,
    'pipeline/stage_events.sql': `SELECT *,
  CASE
    WHEN event_id IS NULL THEN 'missing event_id'
    WHEN customer_id IS NULL THEN 'missing customer_id'
    WHEN occurred_at IS NULL THEN 'missing or unparseable occurred_at'
    WHEN kind IS NULL THEN 'missing kind'
  END AS _reject_reason
FROM (
  SELECT event_id, customer_id, ts(occurred_at) AS occurred_at, kind, TRY_CAST(amount AS DECIMAL(12, 2)) AS amount,
    contact_email, _file, _line, _raw
  FROM input
)
`,
    [`pipeline/${dataset}.sql`]: `SELECT event_id, customer_id, occurred_at, kind, amount, contact_email
FROM src.events
`,
    'schema.graphql': `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@composeDirective"])
  @link(url: "https://mesh.example/governance/v1.0", import: ["@pii"])
  @composeDirective(name: "@pii")

"Personal data: masked or denied by the governance policy unless the caller's role may see it in clear."
directive @pii(kind: String!) on FIELD_DEFINITION

scalar DateTime

type Query {
  ${name}Event(id: ID!): ${type}
}

type ${type} @key(fields: "id") {
  id: ID!
  customer: Customer!
  occurredAt: DateTime!
  kind: String!
  amount: Float
  contactEmail: String @pii(kind: "email")
}

type Customer @key(fields: "id") {
  id: ID!
  "The customer's ${name} events, newest first."
  ${field}(first: Int = 10): [${type}!]!
}
`,
    // Version 0.x: its REST endpoints live under v0 until the first major.
    'api/v0/event.graphql': `# GET /${name}/v0/events/{id}
# One ${name} event.
# The contact email is personal data: in clear for the ${name} owner, a token or absent for other roles (x-pii).
query ${type}ById($id: ID!) {
  ${name}Event(id: $id) {
    id
    customer {
      id
    }
    occurredAt
    kind
    amount
    contactEmail
  }
}
`,
    'resolvers.ts': `import {
  defineSubgraph,
  byKey,
  pageByKey,
  pageSize,
  type SqlRunner,
  type SubgraphContext,
} from '../../products/index.js';

interface Event extends Record<string, unknown> {
  id: string;
  customerId: string;
  occurredAt: string;
  contactEmail: string | null;
}

const EVENT =
  'event_id AS id, customer_id AS "customerId", occurred_at AS "occurredAt", kind, amount, ' +
  'contact_email AS "contactEmail"';

// Key lookups declared, not written as SQL: the subgraph answers them from an in-memory copy of each version.
function loaders(db: SqlRunner) {
  return {
    event: byKey<Event>(db, { from: '${name}.${dataset}', key: 'event_id', select: EVENT }),
    eventsOfCustomer: pageByKey<Event>(db, {
      from: '${name}.${dataset}',
      key: 'customer_id',
      select: EVENT,
      orderBy: 'occurred_at DESC, event_id DESC',
      cursor: { fields: ['occurredAt', 'id'], descending: true },
    }),
  };
}

type Ctx = SubgraphContext<ReturnType<typeof loaders>>;

export default defineSubgraph({
  loaders,
  resolvers: {
    Query: {
      ${name}Event: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.event.load(id),
    },
    ${type}: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.event.load(ref.id),
      customer: (e: Event) => ({ id: e.customerId }),
      contactEmail: (e: Event, _: unknown, ctx: Ctx) =>
        ctx.pii.reveal('${dataset}', e.id, 'contact_email', e.contactEmail),
    },
    Customer: {
      ${field}: (c: { id: string }, args: { first?: number }, ctx: Ctx) =>
        ctx.loaders.eventsOfCustomer.load({ key: c.id, args: { first: pageSize(args.first, 10) } }),
    },
  },
});
`,
    'features.ts': `import { defineFeatures } from '../../feature-subgraph/index.js';

export default defineFeatures({
  views: [
    {
      name: 'customer_${name}',
      entities: ['customer'],
      ttl: '90d',
      owner: '${owner}',
      description: '${name} activity of a customer over 30 days, one snapshot per day',
      tags: { team: '${name}', cadence: 'daily' },
      sql: 'features/customer_${name}.sql',
      features: [
        { name: '${name}_events_30d', dtype: 'Int64', description: 'Events in the last 30 days' },
        { name: '${name}_amount_30d', dtype: 'Float64', description: 'Sum of amounts in the last 30 days' },
      ],
    },
  ],
});
`,
    [`features/customer_${name}.sql`]: `-- One row per customer and day with activity in the 30 days before it
-- (snapshots at 00:00 UTC).
WITH daily AS (
  SELECT customer_id, date_trunc('day', occurred_at) + INTERVAL 1 DAY AS day, count(*) AS events,
    coalesce(sum(amount), 0) AS amount
  FROM ${name}.${dataset} GROUP BY ALL
),
days AS (
  SELECT unnest(generate_series((SELECT min(day) FROM daily), date_trunc('day', as_of()), INTERVAL 1 DAY)) AS day
),
grid AS (
  SELECT c.customer_id, d.day FROM (SELECT DISTINCT customer_id FROM daily) c, days d
)
SELECT g.customer_id, g.day AS event_timestamp,
  sum(coalesce(d.events, 0)) OVER w AS ${name}_events_30d,
  sum(coalesce(d.amount, 0)) OVER w AS ${name}_amount_30d
FROM grid g LEFT JOIN daily d USING (customer_id, day)
WINDOW w AS (PARTITION BY g.customer_id ORDER BY g.day RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW)
`,
    [`test/${name}.test.ts`]: `import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, selectDomains } from '../../../platform/index.js';
import { recordingPlatform, tempDir } from '../../../platform/test/helpers.js';
import { runDomainPipeline } from '../../../jobs/index.js';
import { seedSample } from '../../../cli/scaffold/domain.js';

describe('${name} pipeline', () => {
  it('curates the sample: bad records quarantined with a reason, duplicates dropped, all accounted for', async () => {
    const platform = recordingPlatform(
      loadConfig({
        MESH_DATA_DIR: tempDir(),
        MESH_DOMAINS_DIR: path.resolve(import.meta.dirname, '../..'),
        MESH_LOG_LEVEL: 'silent',
      }),
    );
    const [domain] = selectDomains(platform.config.domainsDir, ['${name}']);
    await seedSample(platform, domain!);
    const run = await runDomainPipeline(platform, domain!);
    const [events] = run.accounting;
    expect(events).toMatchObject({ in: 63, curated: 60, quarantined: 2, duplicates: 1 });
    expect(run.datasets[0]).toMatchObject({ name: '${dataset}', rows: 60 });
  });
});
`,
    'sample/events.jsonl': sampleEvents(),
  };
}

/** 60 good events over October 2026, one duplicate, two bad records. */
function sampleEvents(): string {
  const kinds = ['created', 'updated', 'completed'];
  const lines = Array.from({ length: 60 }, (_, i) =>
    JSON.stringify({
      event_id: `e-${String(i + 1).padStart(5, '0')}`,
      customer_id: `c-${String((i % 30) + 1).padStart(7, '0')}`,
      occurred_at: new Date(Date.UTC(2026, 9, 1 + (i % 30), 8 + (i % 10))).toISOString(),
      kind: kinds[i % 3],
      amount: ((i * 37) % 500) / 10,
      contact_email: `person${(i % 30) + 1}@mail.example`,
    }),
  );
  lines.push(lines[5]!);
  lines.push(JSON.stringify({ event_id: 'e-bad-1', occurred_at: '2026-10-03T10:00:00Z', kind: 'created' }));
  lines.push(
    JSON.stringify({ event_id: 'e-bad-2', customer_id: 'c-0000001', occurred_at: 'not a time', kind: 'created' }),
  );
  return `${lines.join('\n')}\n`;
}
