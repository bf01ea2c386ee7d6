import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { type MeshPlatform } from '../../lineage/index.js';
import {
  Progress,
  signUserToken,
  MeshError,
  ErrorCode,
  REPO_ROOT,
  formatMs,
  loadConfig,
  logFormat,
} from '../../platform/index.js';
import { applyFeatures, trainRepurchase, type FeastResponse } from '../../feature-subgraph/index.js';
import {
  DEFAULT_GENERATE,
  GENERATED_DOMAINS,
  LiveMarketplace,
  generateMarketplace,
  streamPublisher,
  type EventPublisher,
} from '../../jobs/index.js';
import { currentModelKey, extractManifestKey } from '../../products/index.js';
import { EXAMPLE_QUERY } from '../../gateway/index.js';
import { startSupervisedMesh, type SupervisedMesh as RunningMesh } from '../supervisedMesh.js';
import { generateSummary } from './generate.js';
import { runAndSummarize } from './run.js';
import { startScheduler } from './schedule.js';
import { computeAndPrint, materializeAndPrint } from './features.js';
import { publishBaselines } from '../../governance/index.js';
import { consoleRoutes } from '../../console/index.js';
import { createMeshPlatform } from '../platform.js';
import { publisher } from '../publisher.js';

const EXAMPLE_CUSTOMER = 'c-0000001';
const DAY = 86_400_000;
/** How far past its history the live marketplace's world reaches: a year of data time. */
const LIVE_HORIZON_DAYS = 365;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const FEATURES_QUERY = fs.readFileSync(path.join(REPO_ROOT, 'gateway', 'examples', 'CustomerFeatures.graphql'), 'utf8');
const ROLES = ['admin', 'analyst', 'ml-engineer', 'sales-owner', 'payments-owner'];
const FEAST_EXAMPLE = {
  feature_service: 'customer_repurchase',
  entities: { customer_id: [EXAMPLE_CUSTOMER, 'c-0000002'] },
};
/** The authorization header of the banner's examples: a token minted on the spot for `role`. */
const bearerAs = (role: string) => `authorization: Bearer $(npx mesh token --role ${role})`;
const oneLine = (query: string) => query.replace(/\s+/g, ' ').trim();

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'bring the mesh up on embedded defaults: sources if absent, every pipeline, feature views, the subgraphs, the ' +
        'feature server and the gateway',
    )
    .option('--smoke', 'run the example query through the gateway as each role, then stop (for CI)')
    .option(
      '--replicas <n>',
      'processes of every domain subgraph and of the feature server, balanced by the gateway (MESH_REPLICAS)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number, 1 or more');
        return n;
      },
    )
    .action(async (o: { smoke?: boolean; replicas?: number }) => {
      const platform = await dataClockPlatform();
      // With MESH_STREAM_URL, the simulation's order events go to the stream (and are read from it).
      const orderEvents = await streamPublisher(platform, 'sales', 'order_events');
      const live = await liveSources(platform, orderEvents);
      await runAndSummarize(platform, []);
      const started = Date.now();
      // Feature computation, training and schema baselines run while the domains' processes start.
      const mesh = await startSupervisedMesh(platform, {
        gatewayPort: platform.config.gateway.port,
        randomPorts: o.smoke,
        replicas: o.replicas,
        routes: (g) => consoleRoutes(platform, g),
        alongside: async () => {
          const applied = await applyFeatures(platform);
          process.stdout.write(
            `\nFeature registry: ${applied.filter((c) => c.action !== 'unchanged').length} change(s) ` +
              `applied, ${applied.length} definitions.\n`,
          );
          await computeAndPrint(platform, {});
          await materializeAndPrint(platform, { incremental: true, end: new Date(platform.now()) });
          if (!(await platform.store.head(currentModelKey('repurchase')))) {
            const model = await trainRepurchase(platform);
            process.stdout.write(
              `\nModel repurchase v${model.version} (${model.service}): test ROC AUC ` +
                `${model.metrics.test.auc.toFixed(3)} vs ${model.metrics.baseline.test.auc.toFixed(3)} ` +
                'single-domain baseline (npx mesh train retrains).\n',
            );
          }
          const baselines = await publishBaselines(platform, publisher('mesh start'));
          if (baselines.length > 0)
            process.stdout.write(
              `\nSchema registry: first publication ` +
                `of ${baselines.map((v) => `${v.subgraph} ${v.version}`).join(', ')}.\n`,
            );
        },
      });
      process.stdout.write(
        `\nServing: ${mesh.subgraphs.length + (mesh.features ? 1 : 0) + 1} supervised processes and the gateway ` +
          `up ${formatMs(Date.now() - started)} after the pipelines.\n`,
      );
      if (o.smoke) {
        try {
          await smoke(platform, mesh);
        } finally {
          await mesh.close();
          await orderEvents?.close();
        }
        return;
      }
      const scheduler = platform.config.scheduler ? startScheduler(platform) : undefined;
      const stopLive = live?.drive(() => platform.now(), platform.config.simulationSpeed, platform.log);
      process.stdout.write(await banner(platform, mesh, scheduler !== undefined, live));
      // In-flight scheduled runs finish first: a run killed mid-publish would leave its temp files to the next sweep.
      const stop = () =>
        void (stopLive?.(), scheduler?.stop() ?? Promise.resolve())
          .then(() => mesh.close())
          .then(() => orderEvents?.close())
          .then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

/**
 * The platform on the data clock. At a simulation speed other than 1, data time runs ahead of the wall clock, so a mesh
 * started again continues from where its live sources had delivered to, not from the wall clock.
 */
async function dataClockPlatform(): Promise<MeshPlatform> {
  const config = loadConfig();
  const platform = createMeshPlatform(config);
  const speed = platform.config.simulationSpeed;
  if (speed === 0 || speed === 1 || platform.config.now) return platform;
  const until = await LiveMarketplace.deliveredUntil(platform.store);
  if (until === undefined || until <= platform.now()) return platform;
  return createMeshPlatform({ ...config, now: new Date(until) }, platform.store);
}

/**
 * Raw sources: generated when absent, with history up to today and the marketplace going on live from there (its
 * sources deliver every data hour), or resumed where a live run had got to. Undefined when the data does not come from
 * a live run (generated by `mesh generate`, or MESH_SIMULATION_SPEED=0).
 */
async function liveSources(
  platform: MeshPlatform,
  orderEvents: EventPublisher | undefined,
): Promise<LiveMarketplace | undefined> {
  const started = Date.now();
  const present = await Promise.all(GENERATED_DOMAINS.map((d) => platform.store.head(extractManifestKey(d))));
  const speed = platform.config.simulationSpeed;
  if (present.every((p) => p !== undefined)) {
    const live = speed > 0 ? await LiveMarketplace.resume(platform.store, orderEvents) : undefined;
    const hours = await live?.advance(platform.now());
    if (live)
      process.stderr.write(
        `Live sources resumed: ${hours} data hour(s) delivered since the last run, up ` +
          `to ${new Date(live.until).toISOString()}.\n`,
      );
    return live;
  }
  // History up to today, then what today has brought so far: served data and features are fresh whenever the mesh
  // starts.
  const options = { ...DEFAULT_GENERATE, end: new Date(Math.floor(platform.now() / DAY) * DAY).toISOString() };
  process.stderr.write(
    `No raw sources in ${platform.store.url}: generating ${options.days} days up ` +
      `to ${options.end.slice(0, 10)} (seed ${options.seed}, ` +
      `scale ${options.scale})${speed > 0 ? `, then running live at ${speed}x` : ''}.\n`,
  );
  if (speed === 0) {
    process.stdout.write(
      `${generateSummary(
        await generateMarketplace(platform.store, options, new Progress(), orderEvents),
        platform.store.url,
      )}\n`,
    );
    return undefined;
  }
  const live = await LiveMarketplace.start(platform.store, options, LIVE_HORIZON_DAYS, new Progress(), orderEvents);
  await live.advance(platform.now());
  process.stdout.write(`${generateSummary(live.report(Date.now() - started), platform.store.url)}\n`);
  return live;
}

async function banner(
  platform: MeshPlatform,
  mesh: RunningMesh,
  scheduled: boolean,
  live: LiveMarketplace | undefined,
): Promise<string> {
  await mesh.gateway.slo.tick();
  const tokens = await Promise.all(
    ROLES.map(
      async (role) =>
        `  ${role.padEnd(15)} ${await signUserToken({ sub: `demo-${role}`, role }, platform.config.auth)}`,
    ),
  );
  const url = `${mesh.gateway.url}/graphql`;
  return [
    '',
    `Gateway   ${url}   (health ${mesh.gateway.url}/health, metrics ${mesh.gateway.url}/metrics)`,
    `Console   ${mesh.gateway.url}/console/   (sign in with a token below)`,
    ...(platform.config.auth.devSecrets
      ? [
          '!! Development secrets: the JWT, internal identity and masking keys are the public defaults, so anyone ' +
            'can mint tokens and unmask PII. Set MESH_JWT_SECRET (or MESH_JWKS_URL), MESH_INTERNAL_SECRET and ' +
            'MESH_MASKING_KEY before real data.',
        ]
      : []),
    ...staleHint(mesh),
    ...(logFormat(platform.config.log) === 'pretty'
      ? [
          `Logs      ${platform.config.log.file}   (JSON lines of every process; warnings and errors also here, ` +
            'in words; MESH_LOG_FORMAT=json writes the JSON to stderr instead)',
        ]
      : []),
    ...mesh.subgraphs.map(
      (s) => `Subgraph  ${s.name.padEnd(12)} ${s.url}/graphql   v${s.version}   pid ${mesh.supervisor.pid(s.name)}`,
    ),
    `Metadata  ${mesh.metadata.name.padEnd(12)} ${mesh.metadata.url}/graphql   v${mesh.metadata.version}   ` +
      '(data products, lineage)',
    live
      ? `Sources   live at ${platform.config.simulationSpeed}x: every data hour each source delivers new raw files ` +
        `(up to ${new Date(live.until).toISOString().slice(0, 16)} so far; ` +
        'MESH_SIMULATION_SPEED sets the pace, 0 stops it)'
      : 'Sources   static: the raw data is not from a live run (delete the data directory and npm start again for one)',
    scheduled
      ? `Scheduler each domain's pipeline on its contract's cron (data time), incremental, then its feature views ` +
        `and materialization (npx mesh schedule status; MESH_SCHEDULER=false turns it off)`
      : 'Scheduler off (MESH_SCHEDULER=false): npx mesh schedule runs it alone',
    ...(mesh.features
      ? [
          `Features  ${mesh.features.name.padEnd(12)} ${mesh.features.url}/graphql   v${mesh.features.version}   ` +
            `Feast REST ${mesh.features.url}/get-online-features (${mesh.features.detail})`,
        ]
      : []),
    '',
    'Example tokens (development secret; npx mesh token --role <role> makes more):',
    ...tokens,
    '',
    'Example query (PII masked for analysts, in clear for admins and the owning domain):',
    `  curl -s ${url} -H 'content-type: application/json' -H "${bearerAs('analyst')}" \\`,
    `    -d '${JSON.stringify({ query: oneLine(EXAMPLE_QUERY), variables: { id: EXAMPLE_CUSTOMER } })}'`,
    '',
    `REST (OpenAPI 3.1: ${mesh.gateway.url}/openapi.json, per domain /<domain>/v1/openapi.json; ` +
      "the console's REST APIs page):",
    `  curl -s ${mesh.gateway.url}/sales/v1/customers/${EXAMPLE_CUSTOMER}/overview -H "${bearerAs('analyst')}"`,
    `  curl -s '${mesh.gateway.url}/sales/v1/daily-revenue?from=${day(platform.now() - 7 * DAY)}` +
      `&to=${day(platform.now() - DAY)}' -H 'accept: text/csv' -H "${bearerAs('analyst')}"`,
    '',
    'Online features for ML code (Feast request and response shapes):',
    `  curl -s ${mesh.features?.url ?? ''}/get-online-features -H 'content-type: application/json' ` +
      `-H "${bearerAs('ml-engineer')}" \\`,
    `    -d '${JSON.stringify(FEAST_EXAMPLE)}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/**
 * Generated sources end on a fixed date, so on later days every product misses its freshness SLO: say so, and how to
 * refresh.
 */
function staleHint(mesh: RunningMesh): string[] {
  const stale = mesh.gateway.slo.status().filter((d) => d.reasons.some((r) => r.startsWith('data is')));
  if (stale.length === 0) return [];
  return [
    `          ${stale.length} data product(s) older than their freshness SLO (${stale[0]!.reasons[0]}): ` +
      'the scheduler catches up as live sources deliver; static data stays stale ' +
      '(delete the data directory and npm start again)',
  ];
}

async function smoke(platform: MeshPlatform, mesh: RunningMesh): Promise<void> {
  for (const role of ROLES) {
    const token = await signUserToken({ sub: 'smoke', role }, platform.config.auth);
    const res = await fetch(`${mesh.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: EXAMPLE_QUERY, variables: { id: EXAMPLE_CUSTOMER } }),
    });
    const body = (await res.json()) as {
      data?: { customer?: { email?: string | null; orders?: unknown[] } };
      errors?: { extensions?: { code?: string } }[];
    };
    const customer = body.data?.customer;
    const codes = [...new Set((body.errors ?? []).map((e) => e.extensions?.code))];
    process.stdout.write(
      `smoke ${role.padEnd(15)} HTTP ${res.status}, ` +
        `email ${JSON.stringify(customer?.email)}, ${customer?.orders?.length ?? 0} orders, DuckDB ` +
        `queries ${res.headers.get('x-mesh-duckdb-queries')}${codes.length ? `, errors ${codes.join(',')}` : ''}\n`,
    );
    if (res.status !== 200 || !customer)
      throw new MeshError(
        ErrorCode.BAD_USER_INPUT,
        `smoke test failed for role ${role}: ${JSON.stringify(body).slice(0, 500)}`,
      );
  }
  const analyst = await signUserToken({ sub: 'smoke', role: 'analyst' }, platform.config.auth);
  const graph = await fetch(`${mesh.gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${analyst}` },
    body: JSON.stringify({ query: FEATURES_QUERY, variables: { id: EXAMPLE_CUSTOMER } }),
  });
  const answer = (await graph.json()) as {
    data?: { customer?: { features?: { status: string }[]; modelScore?: { score: number } } };
    errors?: unknown[];
  };
  const served = answer.data?.customer?.features?.filter((f) => f.status === 'PRESENT').length ?? 0;
  const score = answer.data?.customer?.modelScore?.score;
  process.stdout.write(
    `smoke gateway+features HTTP ${graph.status}, ${served} PRESENT features and repurchase ` +
      `score ${score?.toFixed(3)} beside sales data, ` +
      `x-mesh-subgraph-fetches ${graph.headers.get('x-mesh-subgraph-fetches')}\n`,
  );
  if (graph.status !== 200 || served === 0 || score === undefined || answer.errors)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `smoke test of features through the gateway failed: ${JSON.stringify(answer).slice(0, 500)}`,
    );
  const token = await signUserToken({ sub: 'smoke', role: 'ml-engineer' }, platform.config.auth);
  const res = await fetch(`${mesh.features!.url}/get-online-features`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ feature_service: 'customer_repurchase', entities: { customer_id: [EXAMPLE_CUSTOMER] } }),
  });
  const body = (await res.json()) as FeastResponse;
  const present = body.results?.slice(1).filter((r) => r.statuses[0] === 'PRESENT').length ?? 0;
  process.stdout.write(
    `smoke features        HTTP ${res.status}, ${body.metadata?.feature_names.length ?? 0} columns ` +
      `for ${EXAMPLE_CUSTOMER}, ${present} PRESENT\n`,
  );
  if (res.status !== 200 || present === 0)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `smoke test of the feature server failed: ${JSON.stringify(body).slice(0, 500)}`,
    );
  const rest = await fetch(`${mesh.gateway.url}/sales/v1/customers/${EXAMPLE_CUSTOMER}/overview`, {
    headers: { authorization: `Bearer ${analyst}` },
  });
  const overview = (await rest.json()) as { data?: { orders?: unknown[] } };
  const documents = await Promise.all(
    ['/openapi.json', '/sales/v1/openapi.json'].map(async (p) => (await fetch(`${mesh.gateway.url}${p}`)).status),
  );
  process.stdout.write(
    `smoke REST            HTTP ${rest.status}, ${overview.data?.orders?.length ?? 0} orders, ` +
      `ETag ${rest.headers.get('etag')}; OpenAPI documents HTTP ${documents.join(', ')}\n`,
  );
  if (rest.status !== 200 || !overview.data || documents.some((s) => s !== 200))
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `smoke test of REST failed: ${JSON.stringify(overview).slice(0, 500)}`,
    );
  const page = await fetch(`${mesh.gateway.url}/console/`);
  const html = await page.text();
  const slo = await fetch(`${mesh.gateway.url}/console/api/slo`, { headers: { authorization: `Bearer ${analyst}` } });
  const states = ((await slo.json()) as { domains?: { domain: string; state: string }[] }).domains ?? [];
  const linked = html.includes('<script type="module"');
  process.stdout.write(
    `smoke console         HTTP ${page.status} (${linked ? 'bundle linked' : 'no bundle'}), ` +
      `SLO states ${states.map((d) => `${d.domain} ${d.state}`).join(', ')}\n`,
  );
  if (page.status !== 200 || !linked || states.length === 0)
    throw new MeshError(
      ErrorCode.BAD_USER_INPUT,
      `smoke test of the console failed: HTTP ${page.status}, ${states.length} SLO states`,
    );
}
