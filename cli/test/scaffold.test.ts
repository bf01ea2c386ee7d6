import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from '../../platform/config.js';
import { listDomains } from '../../platform/domains.js';
import { Duck } from '../../platform/duckdb.js';
import { meshColumnLineage } from '../../lineage/columnLineage.js';
import { createDomain, findDomain, seedSample } from '../scaffold/domain.js';
import { loadSupergraphConfig } from '../../governance/composition.js';
import { checkSchema } from '../../governance/schema-registry/check.js';
import { iamInputs, meshIamPolicies } from '../../governance/iam.js';
import { loadRoles } from '../../governance/access.js';
import { loadPolicy } from '../../governance/policy.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { applyFeatures, computeFeatures, listFeatureViews } from '../../feature-subgraph/featureStore.js';
import { startMesh } from '../../gateway/inProcessMesh.js';
import { createMeshPlatform } from '../platform.js';
import { bearer, gql, copyDomains, tempDir } from '../../platform/test/helpers.js';
import { supergraphConfigFor } from '../../governance/test/helpers.js';
import { SMALL } from '../../jobs/test/helpers.js';

const domains = copyDomains();
afterAll(() => domains.remove());

describe('mesh domain create', () => {
  it(
    'scaffolds a sixth domain that runs, composes, serves (PII masked by role) and feeds the feature store with no ' +
      'platform change',
    async () => {
      const configured = loadSupergraphConfig(path.join(REPO_ROOT, 'supergraph.yaml')).map((s) => ({
        name: s.name,
        url: s.url.replace(/\/graphql$/, ''),
      }));
      const config = supergraphConfigFor(configured, domains.dir);
      const platform = createMeshPlatform(
        loadConfig({
          MESH_DATA_DIR: tempDir(),
          MESH_DOMAINS_DIR: domains.dir,
          MESH_SUPERGRAPH_CONFIG: config,
          MESH_LOG_LEVEL: 'silent',
        }),
      );

      const created = createDomain(platform, 'reviews');
      expect(created.port).toBe(4006);
      expect(created.files).toEqual(
        expect.arrayContaining([
          'contract.odcs.yaml',
          'pipeline.yaml',
          'schema.graphql',
          'resolvers.ts',
          'features.ts',
          'CHANGELOG.md',
          'test/reviews.test.ts',
          'api/v0/event.graphql',
        ]),
      );
      expect(loadSupergraphConfig(config).find((s) => s.name === 'reviews')?.url).toBe('http://127.0.0.1:4006/graphql');
      // The files a team commits pass the house formatter and linter as generated.
      const lint = spawnSync(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules/@biomejs/biome/bin/biome'), 'ci', '--vcs-enabled=false', created.dir],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      );
      expect(lint.status, `${lint.stdout}${lint.stderr}`).toBe(0);
      // And their SQL's column lineage is derived, pipeline and feature view alike, as `mesh contracts validate` asks.
      const duck = await Duck.open();
      try {
        const lineage = await meshColumnLineage(duck, listDomains(platform.config.domainsDir));
        expect(lineage.problems).toEqual([]);
        expect(lineage.curated.has('reviews.reviews_events')).toBe(true);
        expect(lineage.views.has('customer_reviews')).toBe(true);
      } finally {
        duck.close();
      }
      expect(() => createDomain(platform, 'reviews')).toThrow(/already exists/);
      expect(() => createDomain(platform, 'Bad-Name')).toThrow(/one lower-case word/);
      expect(() => createDomain(platform, 'platform')).toThrow(/the platform's own bucket/);
      // Its bucket and roles come with it: the IAM policies are derived from the domains found.
      const policies = meshIamPolicies(
        iamInputs(listDomains(domains.dir), loadRoles(), loadPolicy(), platform.config.buckets),
      );
      for (const role of ['reviews-pipeline', 'reviews-serving', 'reviews-owner'])
        expect(JSON.stringify(policies.get(role)), role).toContain('arn:aws:s3:::mesh-reviews/curated/*');
      expect(JSON.stringify(policies.get('analyst'))).toContain('arn:aws:s3:::mesh-reviews/curated/*');

      await seedSample(platform, findDomain(platform, 'reviews'));
      await generateMarketplace(platform.store, SMALL);
      const runs = [];
      for (const d of listDomains(platform.config.domainsDir)) runs.push(await runDomainPipeline(platform, d));
      expect(runs.find((r) => r.domain === 'reviews')!.accounting[0]).toMatchObject({
        in: 63,
        curated: 60,
        quarantined: 2,
        duplicates: 1,
      });

      expect((await checkSchema(platform, { subgraph: 'reviews' })).ok).toBe(true);
      await applyFeatures(platform);
      await computeFeatures(platform, { domains: ['reviews'] });
      const view = (await listFeatureViews(platform)).find((v) => v.name === 'customer_reviews')!;
      expect(view).toMatchObject({ domain: 'reviews', joinKeys: ['customer_id'] });
      expect(view.offline!.rows).toBeGreaterThan(30);

      const mesh = await startMesh(platform, { gatewayPort: 0, randomPorts: true });
      try {
        expect(mesh.subgraphs.map((s) => s.name)).toContain('reviews');
        const query =
          '{ customer(id: "c-0000001") { id segment reviewsEvents(first: 2) { kind amount contactEmail } } }';
        type Answer = {
          customer: { segment: string; reviewsEvents: { kind: string; amount: number; contactEmail: string }[] };
        };
        const analyst = await gql<Answer>(mesh.gateway.url, query, {}, await bearer(platform, 'analyst'));
        expect(analyst.body.errors).toBeUndefined();
        expect(analyst.body.data!.customer.reviewsEvents).toHaveLength(2);
        expect(analyst.body.data!.customer.reviewsEvents[0]!.contactEmail).toMatch(/^tok_[0-9a-f]{16}$/);
        const owner = await gql<Answer>(mesh.gateway.url, query, {}, await bearer(platform, 'reviews-owner'));
        expect(owner.body.data!.customer.reviewsEvents[0]!.contactEmail).toBe('person1@mail.example');
        expect(JSON.parse(owner.headers.get('x-mesh-subgraph-fetches')!)).toEqual({ sales: 1, reviews: 1 });
        // Its REST endpoint and OpenAPI document, served by the same gateway with no platform change.
        const rest = await fetch(`${mesh.gateway.url}/reviews/v0/events/e-00001`, {
          headers: await bearer(platform, 'reviews-owner'),
        });
        expect(rest.status).toBe(200);
        expect(((await rest.json()) as { data: { contactEmail: string } }).data.contactEmail).toBe(
          'person1@mail.example',
        );
        const doc = (await (await fetch(`${mesh.gateway.url}/reviews/v0/openapi.json`)).json()) as {
          paths: Record<string, unknown>;
        };
        expect(Object.keys(doc.paths)).toEqual(['/reviews/v0/events/{id}']);
      } finally {
        await mesh.close();
      }
      expect(fs.existsSync(path.join(REPO_ROOT, 'subgraphs', 'reviews'))).toBe(false);
    },
  );
});
