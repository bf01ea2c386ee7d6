/**
 * Regenerates docs/console/*.png: one screenshot per console page, signed in as an analyst, on a small generated mesh.
 * npm run console:screenshots
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../platform/config.js';
import { EXAMPLE_QUERY } from '../../gateway/inProcessMesh.js';
import { checkSchema } from '../../governance/schema-registry/check.js';
import { buildConsole, startConsoleDemo, launchBrowser, signIn, runPlayground, stopSubgraph } from './harness.js';

const OUT = path.join(REPO_ROOT, 'docs', 'console');
const PAGES: { name: string; hash: string; ready: string; select?: string }[] = [
  { name: 'playground', hash: '#/playground', ready: '[data-masked="true"]' },
  { name: 'catalog', hash: '#/catalog', ready: '[data-testid="catalog"]', select: 'sales' },
  { name: 'slo', hash: '#/slo', ready: '.chart canvas' },
  { name: 'lineage', hash: '#/lineage?dataset=sales.customers&field=email', ready: '[data-testid="lineage-path"]' },
  {
    name: 'lineage-features',
    hash: '#/lineage?dataset=sales.orders&field=total_eur&depth=4',
    ready: '[data-testid="lineage-graph"] canvas',
  },
  { name: 'features', hash: '#/features', ready: '[data-testid="feature-views"]' },
  { name: 'schemas', hash: '#/schemas', ready: '[data-testid="schema-sales"]' },
  { name: 'cost', hash: '#/cost', ready: '.chart canvas' },
];

/** Some seconds of queries for the SLO charts, with the payments subgraph down in the middle. */
async function traffic(): Promise<void> {
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${await demo.token('analyst')}`,
    'apollographql-client-name': 'crm-ui',
  };
  const query = JSON.stringify({ query: EXAMPLE_QUERY, variables: { id: demo.customer } });
  for (let second = 0; second < 8; second++) {
    if (second === 4) await stopSubgraph(demo, 'payments');
    for (let i = 0; i < 5; i++)
      await fetch(`${demo.mesh.gateway.url}/graphql`, { method: 'POST', headers, body: query });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

await buildConsole();
// Data extracted an hour ago, so freshness is met; the payments subgraph then fails for a while, so its error budget
// burns.
const demo = await startConsoleDemo({
  end: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString(),
});
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await signIn(page, demo.mesh.gateway.url, await demo.token('analyst'));
  fs.mkdirSync(OUT, { recursive: true });
  for (const p of PAGES) {
    if (p.name === 'playground') {
      await runPlayground(page, demo.mesh.gateway.url, demo.customer);
      await traffic();
      // The lineage page shows what the playground's query read once the gateway has flushed its lineage.
      demo.mesh.gateway.lineage!.flush();
      await demo.platform.lineage.emitter.flush();
      // A change the sales team would like to make: dropping Customer.segment, which the traffic above reads.
      await demo.mesh.gateway.usage!.flush();
      const sdl = fs.readFileSync(path.join(demo.platform.config.domainsDir, 'sales', 'schema.graphql'), 'utf8');
      await checkSchema(demo.platform, { subgraph: 'sales', sdl: sdl.replace(/\n\s*segment: String!/, '') });
    } else {
      // The cost allocation is for operators and domain owners: that page is taken as an admin.
      if (p.name === 'cost') await signIn(page, demo.mesh.gateway.url, await demo.token('admin'));
      await page.goto(`${demo.mesh.gateway.url}/console/${p.hash}`);
    }
    await page.locator(p.ready).first().waitFor();
    if (p.select) await page.getByRole('link', { name: p.select, exact: true }).first().click();
    await page.waitForTimeout(600);
    const file = path.join(OUT, `${p.name}.png`);
    await page.screenshot({ path: file, fullPage: !p.name.startsWith('lineage') });
    process.stdout.write(`${path.relative(REPO_ROOT, file)}\n`);
  }
} finally {
  await browser.close();
  await demo.close();
}
