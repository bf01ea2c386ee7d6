import fs from 'node:fs';
import path from 'node:path';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MeshPlatform } from '../../lineage/index.js';
import { signUserToken } from '../../platform/auth.js';
import { listDomains } from '../../platform/domains.js';
import { generateMarketplace } from '../../jobs/generate/index.js';
import { runDomainPipeline } from '../../jobs/pipeline/run.js';
import { applyFeatures, computeFeatures } from '../../feature-subgraph/featureStore.js';
import { materialize } from '../../feature-subgraph/materialize.js';
import { createOnlineStore } from '../../feature-subgraph/online/index.js';
import { publishBaselines } from '../../governance/schema-registry/publish.js';
import { startMesh, type RunningMesh } from '../../gateway/inProcessMesh.js';
import { consoleRoutes } from '../routes.js';
import { queryCurated } from '../../products/test/helpers.js';
import { SMALL } from '../../jobs/test/helpers.js';
import { testMeshPlatform } from '../../lineage/test/helpers.js';

/** Debian's chromium; a browser is never downloaded. */
export const CHROMIUM = process.env.MESH_CHROMIUM || '/usr/bin/chromium';

export async function buildConsole(): Promise<void> {
  await build({ configFile: path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'vite.config.ts') });
}

export interface ConsoleDemo {
  platform: MeshPlatform;
  mesh: RunningMesh;
  /** The customer with the most orders: the playground's example has something to show. */
  customer: string;
  token(role: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A small mesh with everything the console shows: curated data of every domain, feature views in the online store,
 * baseline schemas, and a gateway whose SLO evaluator samples every second.
 */
export async function startConsoleDemo(options: { end?: string } = {}): Promise<ConsoleDemo> {
  // No response cache: the console shows subgraph traffic (SLOs, cost), which repeated test queries must reach.
  const platform = testMeshPlatform({ MESH_SLO_INTERVAL_SECONDS: '1', MESH_RESPONSE_CACHE_ENTRIES: '0' });
  await generateMarketplace(platform.store, { ...SMALL, end: options.end ?? SMALL.end });
  for (const d of listDomains(platform.config.domainsDir)) await runDomainPipeline(platform, d);
  await applyFeatures(platform);
  await computeFeatures(platform, {});
  const online = createOnlineStore(platform.config.online);
  await materialize(platform, online, { incremental: true, end: new Date(options.end ?? SMALL.end) });
  await online.close();
  await publishBaselines(platform, { commit: null, author: 'console harness' });
  const [top] = await queryCurated<{ customer_id: string }>(
    platform,
    'SELECT customer_id FROM o GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1',
    { o: ['sales', 'orders'] },
  );
  const mesh = await startMesh(platform, {
    gatewayPort: 0,
    randomPorts: true,
    routes: (g) => consoleRoutes(platform, g),
  });
  // An analyst's aggregate before any page computes cost: key lookups come from the serving copy at no DuckDB time.
  await fetch(`${mesh.gateway.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await signUserToken({ sub: 'console-analyst', role: 'analyst' }, platform.config.auth)}`,
    },
    body: JSON.stringify({ query: '{ dailyRevenue(from: "2026-09-01", to: "2026-10-31") { date revenueEur } }' }),
  });
  return {
    platform,
    mesh,
    customer: top!.customer_id,
    token: (role) => signUserToken({ sub: `console-${role}`, role }, platform.config.auth),
    close: () => mesh.close(),
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

/** An outage: the subgraph stops answering (and is no longer closed with the mesh). */
export async function stopSubgraph(demo: ConsoleDemo, name: string): Promise<void> {
  const i = demo.mesh.subgraphs.findIndex((s) => s.name === name);
  const [subgraph] = demo.mesh.subgraphs.splice(i, 1);
  await subgraph!.close();
}

/** Runs the playground's example query for a customer. */
export async function runPlayground(page: Page, gatewayUrl: string, customer: string): Promise<void> {
  await page.goto(`${gatewayUrl}/console/#/playground`);
  await page.getByLabel('Variables').fill(JSON.stringify({ id: customer }));
  await page.getByTestId('playground-run').click();
  await page.getByTestId('playground-status').filter({ hasText: 'HTTP' }).waitFor();
}

/** Opens the console and signs in by pasting the token, as a user would. */
export async function signIn(page: Page, gatewayUrl: string, token: string): Promise<void> {
  await page.goto(`${gatewayUrl}/console/`);
  // Signed in already (as another role): sign out first, as a user would. The page shows one or the other once it
  // has rendered: asking before that would find neither and wait for a form that never comes.
  const signOut = page.getByRole('button', { name: 'Sign out' });
  const form = page.locator('#token');
  await signOut.or(form).first().waitFor();
  if (await signOut.isVisible()) await signOut.click();
  await form.fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('role').waitFor();
}
