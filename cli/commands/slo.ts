import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { listDomains, signUserToken, MeshError, ErrorCode } from '../../platform/index.js';
import { loadSupergraphConfig } from '../../governance/index.js';
import {
  grafanaDashboard,
  loadSlos,
  prometheusConfig,
  prometheusRules,
  type DomainSloStatus,
} from '../../observability/index.js';
import { table } from '../format.js';
import { createMeshPlatform } from '../platform.js';

function write(out: string | undefined, text: string): void {
  if (!out) return void process.stdout.write(text);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, text);
  process.stdout.write(`wrote ${out}\n`);
}

export function registerSlo(program: Command): void {
  const slo = program
    .command('slo')
    .description(
      "SLOs from the domains' contracts: Prometheus rules and config, a Grafana dashboard, a running gateway's " +
        'evaluation',
    );
  slo
    .command('rules')
    .description(
      'Prometheus recording rules and multi-window burn-rate alerts (availability, p99 latency, freshness per data ' +
        'product)',
    )
    .option('--out <file>', 'write to a file (promtool check rules <file>)')
    .action((o: { out?: string }) =>
      write(o.out, stringify(prometheusRules(loadSlos(listDomains(createMeshPlatform().config.domainsDir))))),
    );
  slo
    .command('config')
    .description("a Prometheus configuration scraping the gateway and every subgraph at supergraph.yaml's addresses")
    .option('--rules <file>', 'the rules file it loads', 'mesh-rules.yml')
    .option('--interval <duration>', 'scrape and evaluation interval', '15s')
    .option('--out <file>', 'write to a file (promtool check config <file>)')
    .action((o: { rules: string; interval: string; out?: string }) => {
      const platform = createMeshPlatform();
      const subgraphs = loadSupergraphConfig(platform.config.gateway.config).map((s) => new URL(s.url).host);
      const targets = [
        { job: 'mesh-gateway', targets: [`127.0.0.1:${platform.config.gateway.port || 4000}`] },
        { job: 'mesh-subgraphs', targets: subgraphs },
      ];
      write(o.out, stringify(prometheusConfig(targets, o.rules, o.interval)));
    });
  slo
    .command('status')
    .description(
      "a running gateway's own evaluation: state and reasons, availability, burn rate, error budget, p99, data age",
    )
    .option('--gateway <url>', 'the gateway (default: this host, at MESH_GATEWAY_PORT)')
    .option(
      '--token <jwt>',
      'a bearer token (default: a development admin token, valid only with the development secret)',
    )
    .option('--json', 'print the report as JSON')
    .action(async (o: { gateway?: string; token?: string; json?: boolean }) => {
      const platform = createMeshPlatform();
      const gateway = o.gateway ?? `http://127.0.0.1:${platform.config.gateway.port || 4000}`;
      const token = o.token ?? (await signUserToken({ sub: 'mesh-cli', role: 'admin' }, platform.config.auth, '5m'));
      const res = await fetch(`${gateway.replace(/\/+$/, '')}/console/api/slo`, {
        headers: { authorization: `Bearer ${token}` },
      }).catch((err: unknown) => {
        throw new MeshError(ErrorCode.NOT_FOUND, `no gateway at ${gateway}: ${(err as Error).message}`);
      });
      const body = (await res.json()) as { domains?: DomainSloStatus[]; error?: { message: string } };
      if (!res.ok || !body.domains)
        throw new MeshError(
          ErrorCode.UNAUTHENTICATED,
          `${gateway} answered ${res.status}: ${body.error?.message ?? 'no SLO report'}`,
        );
      if (o.json) return void process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      const pct = (n: number | null) => (n === null ? '—' : `${(n * 100).toFixed(2)}%`);
      process.stdout.write(
        `${table(
          [
            'data product',
            'state',
            'availability 1h',
            'burn 1h',
            'budget left',
            'p99 ms',
            'age h',
            'stream p50/p99 s (SLO)',
            'why',
          ],
          body.domains.map((d) => [
            d.domain,
            d.state,
            pct(d.availability.windows['1h']),
            d.availability.burnRate['1h']?.toFixed(2) ?? '—',
            pct(d.availability.budgetRemaining),
            d.latency.p99Ms?.toFixed(0) ?? '—',
            d.freshness.ageHours?.toFixed(1) ?? '—',
            streamColumn(d.freshness.stream),
            d.reasons.join('; ') || '—',
          ]),
        )}\n`,
      );
      if (body.domains.some((d) => d.state === 'BREACHED')) process.exitCode = 1;
    });
  slo
    .command('dashboard')
    .description('a Grafana dashboard: one row per data product, and a platform row')
    .option('--out <file>', 'write to a file')
    .action((o: { out?: string }) =>
      write(
        o.out,
        `${JSON.stringify(grafanaDashboard(loadSlos(listDomains(createMeshPlatform().config.domainsDir))), null, 2)}\n`,
      ),
    );
}

/** `p50/p99 (objective)` over the last hour of stream batches; `—` for a product without a stream objective. */
function streamColumn(stream: DomainSloStatus['freshness']['stream']): string {
  if (!stream) return '—';
  const s = (n: number | null) => (n === null ? '—' : n.toFixed(1));
  return `${s(stream.p50Seconds)}/${s(stream.p99Seconds)} (p${stream.quantile * 100} ≤ ${stream.objectiveSeconds})`;
}
