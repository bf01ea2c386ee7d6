import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { createPlatform } from '../../context.js';
import { listDomains } from '../../domains.js';
import { loadSupergraphConfig } from '../../../governance/composition.js';
import { grafanaDashboard, loadSlos, prometheusConfig, prometheusRules } from '../../../governance/slo.js';

function write(out: string | undefined, text: string): void {
  if (!out) return void process.stdout.write(text);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, text);
  process.stdout.write(`wrote ${out}\n`);
}

export function registerSlo(program: Command): void {
  const slo = program.command('slo').description("SLOs from the domains' contracts: Prometheus rules and config, a Grafana dashboard");
  slo
    .command('rules')
    .description('Prometheus recording rules and multi-window burn-rate alerts (availability, p99 latency, freshness per data product)')
    .option('--out <file>', 'write to a file (promtool check rules <file>)')
    .action((o: { out?: string }) => write(o.out, stringify(prometheusRules(loadSlos(listDomains(createPlatform().config.domainsDir))))));
  slo
    .command('config')
    .description("a Prometheus configuration scraping the gateway and every subgraph at supergraph.yaml's addresses")
    .option('--rules <file>', 'the rules file it loads', 'mesh-rules.yml')
    .option('--interval <duration>', 'scrape and evaluation interval', '15s')
    .option('--out <file>', 'write to a file (promtool check config <file>)')
    .action((o: { rules: string; interval: string; out?: string }) => {
      const platform = createPlatform();
      const subgraphs = loadSupergraphConfig(platform.config.gateway.config).map((s) => new URL(s.url).host);
      const targets = [
        { job: 'mesh-gateway', targets: [`127.0.0.1:${platform.config.gateway.port || 4000}`] },
        { job: 'mesh-subgraphs', targets: subgraphs },
      ];
      write(o.out, stringify(prometheusConfig(targets, o.rules, o.interval)));
    });
  slo
    .command('dashboard')
    .description('a Grafana dashboard: one row per data product, and a platform row')
    .option('--out <file>', 'write to a file')
    .action((o: { out?: string }) => write(o.out, `${JSON.stringify(grafanaDashboard(loadSlos(listDomains(createPlatform().config.domainsDir))), null, 2)}\n`));
}
