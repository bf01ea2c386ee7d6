import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { REPO_ROOT } from '../../platform/config.js';
import type { Browser, Page } from 'playwright-core';
import {
  startConsoleDemo,
  launchBrowser,
  chromiumAvailable,
  signIn,
  runPlayground,
  stopSubgraph,
  CHROMIUM,
  type ConsoleDemo,
} from './harness.js';
import { EXAMPLE_QUERY } from '../../gateway/inProcessMesh.js';
import type { DomainSloStatus } from '../../observability/sloStatus.js';
import type { CostReport } from '../../observability/cost.js';
import { childEnv } from '../../platform/test/helpers.js';

const exec = promisify(execFile);
async function mesh(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(process.execPath, [path.join(REPO_ROOT, 'cli', 'bin.js'), ...args], { env: childEnv(env) }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

const available = chromiumAvailable();
if (!available) {
  const message =
    `\n*** console end-to-end test: no Chromium at ${CHROMIUM} ` +
    '(apt-get install -y chromium, or MESH_CHROMIUM) ***\n';
  if (process.env.CI) throw new Error(message);
  console.warn(`${message}*** SKIPPED ***\n`);
}

describe.skipIf(!available)('mesh console in headless Chromium', () => {
  let demo: ConsoleDemo;
  let browser: Browser;
  let page: Page;

  // The console was built before any test (test/globalSetup.ts).
  beforeAll(async () => {
    demo = await startConsoleDemo();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(page, demo.mesh.gateway.url, await demo.token('analyst'));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  const api = async <T>(path: string, role = 'analyst'): Promise<T> => {
    const res = await fetch(`${demo.mesh.gateway.url}${path}`, {
      headers: { authorization: `Bearer ${await demo.token(role)}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it('refuses the API without a token and a forged one at sign-in', async () => {
    expect((await fetch(`${demo.mesh.gateway.url}/console/api/slo`)).status).toBe(401);
    const other = await browser.newPage();
    await other.goto(`${demo.mesh.gateway.url}/console/`);
    await other.locator('#token').fill('not-a-token');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => other.getByRole('alert').textContent()).toMatch(/token/i);
    await other.close();
  });

  it('playground: the analyst sees PII marked as masked, everything else as data', async () => {
    await runPlayground(page, demo.mesh.gateway.url, demo.customer);
    const email = page.locator('[data-masked="true"][data-path="customer.email"]');
    await email.waitFor();
    expect(await email.textContent()).toMatch(/^"tok_[0-9a-f]+"masked$/);
    expect(await page.getByTestId('playground-status').textContent()).toMatch(
      /HTTP 200 .*as analyst: \d+ field\(s\) masked/,
    );
    // Non-PII values are plain data, and an admin gets the clear address the analyst's token stands for.
    expect(await page.locator('.json .str').count()).toBeGreaterThan(10);
    // Card endings are low-entropy: withheld from the analyst, not tokenized.
    expect(
      await page.locator('[data-withheld="true"][data-path="customer.orders.payments.cardLast4"]').count(),
    ).toBeGreaterThan(0);
    expect(await page.locator('[data-masked="true"][data-path="customer.orders.payments.cardLast4"]').count()).toBe(0);
    const admin = await fetch(`${demo.mesh.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await demo.token('admin')}` },
      body: JSON.stringify({ query: `{ customer(id: "${demo.customer}") { email } }` }),
    });
    const clear = ((await admin.json()) as { data: { customer: { email: string } } }).data.customer.email;
    expect(clear).toContain('@');
    expect(await email.textContent()).not.toContain(clear);
  });

  it('lineage: a path from the curated column to the gateway operation that read it', async () => {
    demo.mesh.gateway.lineage!.flush();
    await demo.platform.lineage.emitter.flush();
    await page.goto(`${demo.mesh.gateway.url}/console/#/lineage?dataset=sales.customers&field=email`);
    const path = page.getByTestId('lineage-path').filter({ hasText: 'CustomerOverview' }).first();
    await path.waitFor();
    const text = (await path.textContent())!;
    expect(text.startsWith('sales.customers.email → ')).toBe(true);
    expect(text).toMatch(/operation\.CustomerOverview\.[0-9a-f]+\.customer\.email$/);
    expect(Number(await page.getByTestId('lineage-graph').getAttribute('data-nodes'))).toBeGreaterThan(2);
    await page.locator('canvas').first().waitFor();
    const readers = page.getByTestId('lineage-readers');
    expect(await readers.textContent()).toMatch(/gateway\.CustomerOverview\s*mesh-console\s*analyst\s*MASKED/);
  });

  it('SLOs: each domain shows the state the gateway evaluated, with the reason', async () => {
    await demo.mesh.gateway.slo.tick(); // a sample after the playground's query, without waiting for the interval
    await page.goto(`${demo.mesh.gateway.url}/console/#/slo`);
    await page.getByTestId('slo-state-sales').waitFor();
    const report = await api<{ domains: DomainSloStatus[] }>('/console/api/slo');
    for (const d of report.domains)
      expect((await page.getByTestId(`slo-state-${d.domain}`).textContent())!.replace(' ', '_')).toBe(d.state);
    const sales = report.domains.find((d) => d.domain === 'sales')!;
    // The generated data ends on 2026-11-01 and the data clock starts a day later: past sales' 24 h freshness SLO.
    expect(sales.state).toBe('BREACHED');
    expect(await page.getByTestId('slo-reasons-sales').textContent()).toMatch(
      /data is 24\.\d h old, freshness SLO 24 h/,
    );
    // The analyst's query reached sales through the gateway without error: its availability budget is untouched.
    expect(sales.availability.requests, JSON.stringify(sales)).toBeGreaterThan(0);
    expect(await page.getByTestId('slo-budget-sales').textContent()).toMatch(/^100\.0% \(\d+ calls\)/);
    // Sales promises stream freshness too; this mesh reads its order events from files, so no batch is measured.
    expect(sales.freshness.stream).toMatchObject({ quantile: 0.99, objectiveSeconds: 900, batches: 0 });
    expect(await page.getByTestId('slo-stream-sales').textContent()).toBe('no stream batch');
    await expect.poll(() => page.locator('.chart canvas').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    // Each domain's schedule from its contract; a scheduled run recorded in the history shows with its outcome.
    // Run by the CLI on the demo's own store, as an operator would run it beside the mesh.
    const scheduled = await mesh(['schedule', 'run', 'catalog'], {
      MESH_DATA_DIR: demo.platform.config.dataDir,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    });
    expect(scheduled.stdout, scheduled.stderr).toMatch(/^catalog: succeeded/);
    await page.reload();
    await page.getByTestId('schedule-outcome-catalog').waitFor();
    expect(await page.getByTestId('schedule').locator('tbody tr').count()).toBe(5);
    expect(await page.getByTestId('schedule-outcome-catalog').textContent()).toMatch(/^succeeded/);
    // The same evaluation from the CLI, which exits non-zero while a product is in breach.
    const cli = await mesh([
      'slo',
      'status',
      '--gateway',
      demo.mesh.gateway.url,
      '--token',
      await demo.token('analyst'),
    ]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^sales\s+BREACHED\s+100\.00%\s+0\.00\s+100\.00%.*data is 24\.\d h old/m);
    const refused = await mesh(['slo', 'status', '--gateway', demo.mesh.gateway.url, '--token', 'forged']);
    expect(refused.stderr).toMatch(/answered 401/);
  });

  it('catalog, features, schemas and cost pages show the platform state', async () => {
    await page.goto(`${demo.mesh.gateway.url}/console/#/catalog`);
    expect(await page.getByTestId('catalog-slo-sales').textContent()).toBe('BREACHED');
    expect(await page.getByTestId('catalog').textContent()).toMatch(/Platform Team|sales/);

    await page.goto(`${demo.mesh.gateway.url}/console/#/features`);
    const views = (await page.getByTestId('feature-views').textContent())!;
    for (const v of ['customer_orders', 'customer_payments', 'product_pricing']) expect(views).toContain(v);

    await page.goto(`${demo.mesh.gateway.url}/console/#/schemas`);
    expect(await page.getByTestId('schema-sales').textContent()).toMatch(/^sales \d+\.\d+\.\d+/);
    expect(await page.locator('.checks').first().textContent()).toMatch(/PASSED.*composition/s);

    // Cost is for operators and domain owners: an analyst is refused, an admin sees every domain.
    expect(
      (
        await fetch(`${demo.mesh.gateway.url}/console/api/cost`, {
          headers: { authorization: `Bearer ${await demo.token('analyst')}` },
        })
      ).status,
    ).toBe(403);
    await signIn(page, demo.mesh.gateway.url, await demo.token('admin'));
    await page.goto(`${demo.mesh.gateway.url}/console/#/cost`);
    const total = (await page.getByTestId('cost-total-sales').textContent())!;
    const cost = await api<CostReport>('/console/api/cost', 'admin');
    expect(total).toBe(`$${cost.domains.find((d) => d.domain === 'sales')!.cost.total.toPrecision(3)}`);
    await page.locator('.chart canvas').first().waitFor();
    // The query load behind the demo's requests: calls to sales and the DuckDB time sales reported for them.
    const sales = cost.queryLoad!.bySubgraph.sales!;
    expect(sales.fetches).toBeGreaterThan(0);
    expect(sales.duckdbSeconds).toBeGreaterThan(0);
    expect(await page.getByTestId('query-load').textContent()).toContain(`sales${sales.fetches}`);
  });

  it(
    "REST APIs: each domain's reference renders from its OpenAPI document, and try-it answers with the signed-in " +
      'token',
    async () => {
      await signIn(page, demo.mesh.gateway.url, await demo.token('analyst'));
      await page.goto(`${demo.mesh.gateway.url}/console/#/api?api=sales/v1`);
      const reference = page.getByTestId('api-reference');
      const op = reference.locator('#operations-sales-SalesCustomer');
      await op.waitFor();
      expect(await page.locator('[data-testid^="api-"][href]').count()).toBe(5);
      expect(await reference.locator('.opblock').count()).toBe(4);
      await op.locator('.opblock-summary').click();
      await op.getByRole('button', { name: 'Try it out' }).click();
      await op.locator('input[placeholder="id"]').fill(demo.customer);
      await op.getByRole('button', { name: 'Execute' }).click();
      const status = op.locator('.live-responses-table tr.response .response-col_status').first();
      await status.waitFor();
      expect((await status.textContent())?.trim()).toBe('200');
      // The analyst's answer: the customer, with PII as tokens.
      const body = (await op
        .locator('.live-responses-table tr.response .response-col_description pre')
        .first()
        .textContent())!;
      expect(JSON.parse(body)).toMatchObject({
        data: { id: demo.customer, email: expect.stringMatching(/^tok_/) },
        governance: { role: 'analyst' },
      });
    },
  );

  it('an outage of a subgraph burns its error budget: the console shows the breach', async () => {
    await stopSubgraph(demo, 'payments');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await demo.token('analyst')}` };
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${demo.mesh.gateway.url}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: EXAMPLE_QUERY, variables: { id: demo.customer } }),
      });
      expect(res.status).toBe(200); // partial data: the other domains still answer
    }
    await demo.mesh.gateway.slo.tick();
    const payments = (await api<{ domains: DomainSloStatus[] }>('/console/api/slo')).domains.find(
      (d) => d.domain === 'payments',
    )!;
    expect(payments.availability.budgetRemaining).toBeLessThan(0);
    expect(payments.reasons.join(' ')).toMatch(/error budget of the 99\.90% availability SLO exhausted/);
    await page.goto(`${demo.mesh.gateway.url}/console/#/slo`);
    expect(await page.getByTestId('slo-reasons-payments').textContent()).toContain('error budget');
    expect(await page.getByTestId('slo-budget-payments').textContent()).toMatch(/^exhausted \(\d+ calls\)/);
  });
});
